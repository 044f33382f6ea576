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
}

/// One binding: the keys, a short footer label and the help text.
#[derive(Debug, Clone)]
pub struct Binding {
    pub action: Action,
    pub keys: Vec<(KeyCode, KeyModifiers)>,
    /// Footer label, e.g. `q quit`.
    pub short: &'static str,
    pub help: &'static str,
}

/// The key map.
#[derive(Debug, Clone)]
pub struct KeyMap {
    pub bindings: Vec<Binding>,
}

fn k(c: char) -> (KeyCode, KeyModifiers) {
    (KeyCode::Char(c), KeyModifiers::NONE)
}

impl Default for KeyMap {
    fn default() -> Self {
        use Action::*;
        let none = KeyModifiers::NONE;
        let b = |action, keys, short, help| Binding {
            action,
            keys,
            short,
            help,
        };
        KeyMap {
            bindings: vec![
                b(
                    Quit,
                    vec![k('q'), (KeyCode::Char('c'), KeyModifiers::CONTROL)],
                    "q quit",
                    "quit (Ctrl-C too)",
                ),
                b(Help, vec![k('?')], "? help", "show or hide this help"),
                b(
                    Pause,
                    vec![k('p')],
                    "p pause",
                    "freeze the view (collection goes on)",
                ),
                b(
                    NextPane,
                    vec![(KeyCode::Tab, none), k('l'), (KeyCode::Right, none)],
                    "tab pane",
                    "focus the next pane",
                ),
                b(
                    PrevPane,
                    vec![
                        (KeyCode::BackTab, KeyModifiers::SHIFT),
                        k('h'),
                        (KeyCode::Left, none),
                    ],
                    "",
                    "focus the previous pane",
                ),
                b(
                    Down,
                    vec![k('j'), (KeyCode::Down, none)],
                    "j/k move",
                    "move down in the focused list",
                ),
                b(
                    Up,
                    vec![k('k'), (KeyCode::Up, none)],
                    "",
                    "move up in the focused list",
                ),
                b(
                    Open,
                    vec![(KeyCode::Enter, none)],
                    "enter open",
                    "open the selected family or finding",
                ),
                b(
                    Close,
                    vec![(KeyCode::Esc, none)],
                    "",
                    "close the detail or help",
                ),
                b(
                    Filter,
                    vec![k('f')],
                    "f filter",
                    "matrix: applicable families → problems only → all",
                ),
            ],
        }
    }
}

impl KeyMap {
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

    /// The footer text.
    pub fn footer(&self) -> String {
        self.bindings
            .iter()
            .filter(|b| !b.short.is_empty())
            .map(|b| b.short)
            .collect::<Vec<_>>()
            .join("  ")
    }

    /// Help lines: keys and what they do.
    pub fn help_lines(&self) -> Vec<(String, &'static str)> {
        self.bindings
            .iter()
            .map(|b| {
                (
                    b.keys
                        .iter()
                        .map(|(c, m)| key_name(*c, *m))
                        .collect::<Vec<_>>()
                        .join(", "),
                    b.help,
                )
            })
            .collect()
    }
}

/// How a key is written in help.
pub fn key_name(c: KeyCode, m: KeyModifiers) -> String {
    let base = match c {
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
            km.footer(),
            "q quit  ? help  p pause  tab pane  j/k move  enter open  f filter"
        );
        let help = km.help_lines();
        assert_eq!(help.len(), km.bindings.len());
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
