//! The key map is data: the footer and the `?` overlay are generated from it.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    Help,
    Pause,
    NextPane,
    PrevPane,
    Down,
    Up,
    Open,
    Close,
    Filter,
    Search,
    Server,
    Targets,
    Export,
    StepBack,
    StepForward,
    Faster,
    Slower,
    Start,
    End,
}

/// Where a binding does something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modes {
    Both,
    Live,
    Replay,
}

impl Modes {
    fn shows(self, replay: bool) -> bool {
        match self {
            Modes::Both => true,
            Modes::Live => !replay,
            Modes::Replay => replay,
        }
    }
}

/// One binding: the keys, a short footer label and the help text.
#[derive(Debug, Clone)]
pub struct Binding {
    pub action: Action,
    pub keys: Vec<(KeyCode, KeyModifiers)>,
    /// Footer label, e.g. `q quit`.
    pub short: &'static str,
    pub help: &'static str,
    /// Live, in a replay, or both.
    pub modes: Modes,
}

/// The key map.
#[derive(Debug, Clone)]
pub struct KeyMap {
    pub bindings: Vec<Binding>,
}

/// A character key pressed alone.
fn plain(c: char) -> (KeyCode, KeyModifiers) {
    (KeyCode::Char(c), KeyModifiers::NONE)
}

impl Default for KeyMap {
    // Over 80 lines on purpose: this is the table of default bindings, one entry per action
    // with its keys, footer word and help line; split up it would no longer read as one table.
    fn default() -> Self {
        use Action::*;
        let none = KeyModifiers::NONE;
        let bind = |action, keys, short, help| Binding {
            action,
            keys,
            short,
            help,
            modes: match action {
                Export => Modes::Live,
                StepBack | StepForward | Faster | Slower | Start | End => Modes::Replay,
                _ => Modes::Both,
            },
        };
        KeyMap {
            bindings: vec![
                bind(
                    Quit,
                    vec![plain('q'), (KeyCode::Char('c'), KeyModifiers::CONTROL)],
                    "quit",
                    "quit (Ctrl-C too)",
                ),
                bind(Help, vec![plain('?')], "help", "show or hide this help"),
                bind(
                    Pause,
                    vec![plain('p'), plain(' ')],
                    "pause",
                    "live: freeze the view (collection goes on); replay: play or pause",
                ),
                bind(
                    NextPane,
                    vec![(KeyCode::Tab, none), plain('l'), (KeyCode::Right, none)],
                    "pane",
                    "focus the next pane",
                ),
                bind(
                    PrevPane,
                    vec![
                        (KeyCode::BackTab, KeyModifiers::SHIFT),
                        plain('h'),
                        (KeyCode::Left, none),
                    ],
                    "",
                    "focus the previous pane",
                ),
                bind(
                    Down,
                    vec![plain('j'), (KeyCode::Down, none)],
                    "move",
                    "move down in the focused list",
                ),
                bind(
                    Up,
                    vec![plain('k'), (KeyCode::Up, none)],
                    "",
                    "move up in the focused list",
                ),
                bind(
                    Open,
                    vec![(KeyCode::Enter, none)],
                    "open",
                    "open the selected family or finding, or all of the Mode pane",
                ),
                bind(
                    Close,
                    vec![(KeyCode::Esc, none)],
                    "",
                    "close the detail or help",
                ),
                bind(
                    Filter,
                    vec![plain('f')],
                    "filter",
                    "matrix: applicable families → problems only → all",
                ),
                bind(
                    Search,
                    vec![plain('/')],
                    "search",
                    "matrix: show families whose name contains what you type",
                ),
                bind(
                    Server,
                    vec![plain('i')],
                    "server",
                    "LMCache routes read and skipped, threads, /env (with --allow-env)",
                ),
                bind(
                    Targets,
                    vec![plain('t')],
                    "targets",
                    "every target: state, age, latency, last error",
                ),
                bind(
                    Export,
                    vec![plain('e')],
                    "export",
                    "write an evidence packet of the history (in the background)",
                ),
                bind(StepBack, vec![plain(',')], "", "replay: back one capture"),
                bind(
                    StepForward,
                    vec![plain('.')],
                    "step",
                    "replay: on one capture",
                ),
                bind(
                    Slower,
                    vec![plain('-')],
                    "",
                    "replay: slower (max, 100×, 10×, 1×)",
                ),
                bind(
                    Faster,
                    vec![plain('+')],
                    "speed",
                    "replay: faster (1×, 10×, 100×, max)",
                ),
                bind(Start, vec![plain('g')], "", "replay: to the first capture"),
                bind(End, vec![plain('G')], "end", "replay: to the end, paused"),
            ],
        }
    }
}

/// Action names as written in the config file.
pub const ACTION_NAMES: &[(&str, Action)] = &[
    ("quit", Action::Quit),
    ("help", Action::Help),
    ("pause", Action::Pause),
    ("next_pane", Action::NextPane),
    ("prev_pane", Action::PrevPane),
    ("down", Action::Down),
    ("up", Action::Up),
    ("open", Action::Open),
    ("close", Action::Close),
    ("filter", Action::Filter),
    ("search", Action::Search),
    ("server", Action::Server),
    ("targets", Action::Targets),
    ("export", Action::Export),
    ("step_back", Action::StepBack),
    ("step_forward", Action::StepForward),
    ("slower", Action::Slower),
    ("faster", Action::Faster),
    ("start", Action::Start),
    ("end", Action::End),
];

/// Parses `q`, `?`, `ctrl-a`, `space`, `tab`, `shift-tab`, `enter`, `esc`, `up`, `down`,
/// `left`, `right`.
pub fn parse_key(spec: &str) -> Result<(KeyCode, KeyModifiers), String> {
    let lower = spec.to_ascii_lowercase();
    let (mods, rest) = match lower.strip_prefix("ctrl-") {
        Some(r) => (KeyModifiers::CONTROL, r),
        None => (KeyModifiers::NONE, lower.as_str()),
    };
    let code = match rest {
        "space" => KeyCode::Char(' '),
        "tab" => KeyCode::Tab,
        "shift-tab" | "backtab" => return Ok((KeyCode::BackTab, KeyModifiers::SHIFT)),
        "enter" => KeyCode::Enter,
        "esc" | "escape" => KeyCode::Esc,
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        _ => {
            // Single characters keep their case (`G` differs from `g`).
            let orig = if mods == KeyModifiers::NONE {
                spec
            } else {
                rest
            };
            let mut chars = orig.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => KeyCode::Char(c),
                _ => {
                    return Err(format!(
                        "key '{spec}' is not a key (q, ?, ctrl-a, tab, enter, esc, up ...)"
                    ));
                }
            }
        }
    };
    Ok((code, mods))
}

impl KeyMap {
    /// The default map with the config file's bindings replacing an action's keys.
    pub fn with_overrides(
        overrides: &std::collections::BTreeMap<String, Vec<String>>,
    ) -> Result<KeyMap, String> {
        let mut map = KeyMap::default();
        for (name, keys) in overrides {
            let action = ACTION_NAMES
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, a)| *a)
                .ok_or_else(|| {
                    format!(
                        "[keys] {name}: unknown action (one of {})",
                        ACTION_NAMES
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })?;
            let parsed = keys
                .iter()
                .map(|k| parse_key(k).map_err(|e| format!("[keys] {name}: {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            let b = map
                .bindings
                .iter_mut()
                .find(|b| b.action == action)
                .expect("every action has a binding");
            b.keys = parsed;
        }
        // One key, one action.
        for (i, a) in map.bindings.iter().enumerate() {
            for b in &map.bindings[i + 1..] {
                if let Some(k) = a.keys.iter().find(|k| b.keys.contains(k)) {
                    return Err(format!(
                        "[keys]: {} is bound to two actions",
                        key_name(k.0, k.1)
                    ));
                }
            }
        }
        Ok(map)
    }

    /// The action bound to a key press.
    pub fn action(&self, key: &KeyEvent) -> Option<Action> {
        // Shift is part of the character for printable keys; compare the rest.
        let mods = if matches!(key.code, KeyCode::Char(_)) {
            key.modifiers - KeyModifiers::SHIFT
        } else {
            key.modifiers
        };
        self.bindings
            .iter()
            .find(|b| {
                b.keys
                    .iter()
                    .any(|(c, m)| *c == key.code && (*m == mods || (*c == KeyCode::BackTab)))
            })
            .map(|b| b.action)
    }

    /// How the first key of `action` is written (`t`, `Esc`, `Ctrl-c`), for hints on screen;
    /// `unbound` when the config file left it no key.
    pub fn hint(&self, action: Action) -> String {
        self.bindings
            .iter()
            .find(|b| b.action == action)
            .and_then(|b| b.keys.first())
            .map_or_else(|| "unbound".to_string(), |(c, m)| key_name(*c, *m))
    }

    /// The key bar's entries, live or in a replay: the help's first, so no width cuts it off
    /// (the help lists every key), then the others in table order.
    pub fn footer(&self, replay: bool) -> Vec<String> {
        let mut shown: Vec<&Binding> = self
            .bindings
            .iter()
            .filter(|b| !b.short.is_empty() && b.modes.shows(replay))
            .collect();
        shown.sort_by_key(|b| b.action != Action::Help);
        shown
            .into_iter()
            .filter_map(|b| {
                b.keys.first().map(|(c, m)| {
                    // Named keys in lower case (`tab`, `enter`); a letter keeps its case.
                    let name = key_name(*c, *m);
                    let name = if name.chars().count() > 1 {
                        name.to_lowercase()
                    } else {
                        name
                    };
                    format!("{name} {}", b.short)
                })
            })
            .collect()
    }

    /// Help lines: keys and what they do, live or in a replay.
    pub fn help_lines(&self, replay: bool) -> Vec<(String, String)> {
        self.bindings
            .iter()
            .filter(|b| b.modes.shows(replay))
            .map(|b| {
                let mut help = b.help.to_string();
                if b.action == Action::Search {
                    help.push_str(&format!(
                        " ({} keeps, {} clears)",
                        self.hint(Action::Open),
                        self.hint(Action::Close)
                    ));
                }
                (
                    b.keys
                        .iter()
                        .map(|(c, m)| key_name(*c, *m))
                        .collect::<Vec<_>>()
                        .join(", "),
                    help,
                )
            })
            .collect()
    }
}

/// How a key is written in help.
pub fn key_name(c: KeyCode, m: KeyModifiers) -> String {
    let base = match c {
        KeyCode::Char(' ') => "space".into(),
        KeyCode::Char(ch) => ch.to_string(),
        KeyCode::Tab => "Tab".into(),
        KeyCode::BackTab => "Shift-Tab".into(),
        KeyCode::Enter => "Enter".into(),
        KeyCode::Esc => "Esc".into(),
        KeyCode::Up => "↑".into(),
        KeyCode::Down => "↓".into(),
        KeyCode::Left => "←".into(),
        KeyCode::Right => "→".into(),
        other => format!("{other:?}"),
    };
    if m.contains(KeyModifiers::CONTROL) {
        format!("Ctrl-{base}")
    } else {
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footer_and_help_come_from_the_bindings() {
        let km = KeyMap::default();
        assert_eq!(
            km.footer(false).join("  "),
            "? help  q quit  p pause  tab pane  j move  enter open  f filter  / search  i server  t targets  e export"
        );
        assert_eq!(
            km.footer(true).join("  "),
            "? help  q quit  p pause  tab pane  j move  enter open  f filter  / search  i server  t targets  . step  + speed  G end"
        );
        let help = km.help_lines(false);
        assert_eq!(help.len(), km.bindings.len() - 6);
        assert_eq!(km.help_lines(true).len(), km.bindings.len() - 1);
        assert!(
            km.help_lines(true)
                .iter()
                .any(|(k, h)| k == "p, space" && h.contains("play"))
        );
        assert_eq!(
            parse_key("space"),
            Ok((KeyCode::Char(' '), KeyModifiers::NONE))
        );
        assert_eq!(help[0].0, "q, Ctrl-c");
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(km.action(&ctrl_c), Some(Action::Quit));
        assert_eq!(
            km.action(&KeyEvent::new(KeyCode::Char('c'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(
            km.action(&KeyEvent::new(KeyCode::Char('?'), KeyModifiers::SHIFT)),
            Some(Action::Help)
        );
    }
}

#[cfg(test)]
mod override_tests {
    use super::*;

    #[test]
    fn rebinding_replaces_keys_and_rejects_clashes() {
        let mut o = std::collections::BTreeMap::new();
        o.insert(
            "quit".to_string(),
            vec!["x".to_string(), "ctrl-q".to_string()],
        );
        let km = KeyMap::with_overrides(&o).unwrap();
        assert_eq!(
            km.action(&KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE)),
            Some(Action::Quit)
        );
        assert_eq!(
            km.action(&KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE)),
            None
        );
        assert!(km.help_lines(false)[0].0.contains("Ctrl-q"));
        o.insert("help".to_string(), vec!["x".to_string()]);
        assert!(
            KeyMap::with_overrides(&o)
                .unwrap_err()
                .contains("two actions")
        );
        let mut bad = std::collections::BTreeMap::new();
        bad.insert("jump".to_string(), vec!["j".to_string()]);
        assert!(KeyMap::with_overrides(&bad).is_err());
        assert!(parse_key("ctrl-").is_err());
    }
}

#[cfg(test)]
mod hostile {
    use super::*;

    #[test]
    fn any_key_spec_parses_or_is_refused() {
        let mut g = crate::testgen::Gen::new(17);
        for _ in 0..20_000 {
            let spec = g.hostile(&["ctrl-q", "shift-tab", "G", "é", "ctrl-é"]);
            if let Ok((KeyCode::Char(c), _)) = parse_key(&spec) {
                assert!(
                    spec.ends_with(c) || spec.to_lowercase().ends_with(c),
                    "{spec:?}"
                );
            }
        }
    }
}
