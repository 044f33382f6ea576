//! Colours, as data: `themes/*.toml` (built in: dark, light, high-contrast, mono), or a theme
//! file of the same shape given by path. The built-in themes use the 16 basic colours only.

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

/// Styles used by the panes.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub text: Style,
    pub dim: Style,
    pub title: Style,
    pub focus: Style,
    pub selected: Style,
    pub good: Style,
    pub warn: Style,
    pub bad: Style,
    pub info: Style,
}

/// The built-in themes, by name.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("mono", include_str!("../../themes/mono.toml")),
];

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct StyleSpec {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    bold: bool,
    #[serde(default)]
    reversed: bool,
    #[serde(default)]
    underlined: bool,
    #[serde(default)]
    dim: bool,
    #[serde(default)]
    italic: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeSpec {
    name: String,
    text: StyleSpec,
    dim: StyleSpec,
    title: StyleSpec,
    focus: StyleSpec,
    selected: StyleSpec,
    good: StyleSpec,
    warn: StyleSpec,
    bad: StyleSpec,
    info: StyleSpec,
}

fn color(name: &str) -> Result<Color, String> {
    if let Some(hex) = name.strip_prefix('#') {
        let v = u32::from_str_radix(hex, 16)
            .ok()
            .filter(|_| hex.len() == 6)
            .ok_or_else(|| format!("colour '{name}' is not #rrggbb"))?;
        return Ok(Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8));
    }
    Ok(match name {
        "reset" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" => Color::Gray,
        "darkgray" => Color::DarkGray,
        "lightred" => Color::LightRed,
        "lightgreen" => Color::LightGreen,
        "lightyellow" => Color::LightYellow,
        "lightblue" => Color::LightBlue,
        "lightmagenta" => Color::LightMagenta,
        "lightcyan" => Color::LightCyan,
        "white" => Color::White,
        other => return Err(format!("unknown colour '{other}'")),
    })
}

impl StyleSpec {
    fn style(&self) -> Result<Style, String> {
        let mut s = Style::default();
        if let Some(fg) = &self.fg {
            s = s.fg(color(fg)?);
        }
        if let Some(bg) = &self.bg {
            s = s.bg(color(bg)?);
        }
        for (on, m) in [
            (self.bold, Modifier::BOLD),
            (self.reversed, Modifier::REVERSED),
            (self.underlined, Modifier::UNDERLINED),
            (self.dim, Modifier::DIM),
            (self.italic, Modifier::ITALIC),
        ] {
            if on {
                s = s.add_modifier(m);
            }
        }
        Ok(s)
    }
}

impl Theme {
    /// A verdict state's colour, wherever it is shown (the line, the fleet's column).
    pub fn verdict(&self, s: crate::analysis::verdict::CacheState) -> Style {
        use crate::analysis::verdict::CacheState;
        match s {
            CacheState::Working => self.good,
            CacheState::NoTraffic | CacheState::NotHitting => self.warn,
            CacheState::Degraded | CacheState::Down => self.bad,
            CacheState::Unknown => self.dim,
        }
    }

    /// Parses a theme file's text.
    pub fn from_toml(text: &str) -> Result<Theme, String> {
        // A file that is not a theme (a key, /etc/shadow) must not be echoed: no line shown.
        let t: ThemeSpec =
            toml::from_str(text).map_err(|e| crate::config::toml_error(&e, text, false))?;
        Ok(Theme {
            text: t.text.style()?,
            dim: t.dim.style()?,
            title: t.title.style()?,
            focus: t.focus.style()?,
            selected: t.selected.style()?,
            good: t.good.style()?,
            warn: t.warn.style()?,
            bad: t.bad.style()?,
            info: t.info.style()?,
            name: t.name,
        })
    }

    fn built_in(name: &str) -> Option<Theme> {
        BUILT_IN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, text)| Theme::from_toml(text).expect("built-in themes parse"))
    }

    /// The default: dark background, 16 colours.
    pub fn dark() -> Theme {
        Theme::built_in("dark").expect("built in")
    }

    /// No colour at all.
    pub fn mono() -> Theme {
        Theme::built_in("mono").expect("built in")
    }

    /// A built-in theme by name or a theme file by path; `NO_COLOR` picks mono unless a theme
    /// was asked for.
    pub fn pick(name: Option<&str>, no_color: bool) -> Result<Theme, String> {
        match name {
            None if no_color => Ok(Theme::mono()),
            None => Ok(Theme::dark()),
            Some(n) => Theme::built_in(n).map_or_else(
                || {
                    let path = std::path::Path::new(n);
                    let text = crate::files::read_text(
                        path,
                        crate::config::MAX_CONFIG_BYTES,
                        crate::files::Kind::Regular,
                    )
                    .map_err(|e| {
                        let names: Vec<&str> = BUILT_IN.iter().map(|(n, _)| *n).collect();
                        format!(
                            "--theme {n}: not a built-in theme ({}) nor a readable theme file ({e})",
                            names.join(", ")
                        )
                    })?;
                    Theme::from_toml(&text).map_err(|e| format!("theme file {n}: {e}"))
                },
                Ok,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_theme_parses_and_uses_basic_colours_only() {
        for (name, text) in BUILT_IN {
            let t = Theme::from_toml(text).unwrap();
            assert_eq!(&t.name, name);
            for s in [
                t.text, t.dim, t.title, t.focus, t.selected, t.good, t.warn, t.bad, t.info,
            ] {
                for c in [s.fg, s.bg].into_iter().flatten() {
                    assert!(
                        !matches!(c, Color::Rgb(..) | Color::Indexed(_)),
                        "{name} uses {c:?}"
                    );
                }
            }
        }
        assert!(
            Theme::pick(Some("nope"), false)
                .unwrap_err()
                .contains("high-contrast")
        );
        assert_eq!(Theme::pick(None, true).unwrap().name, "mono");
    }

    #[test]
    fn bad_theme_files_are_named_errors() {
        assert!(Theme::from_toml("name = 1").is_err());
        let bad = BUILT_IN[0].1.replace("\"cyan\"", "\"chartreuse\"");
        assert!(Theme::from_toml(&bad).unwrap_err().contains("chartreuse"));
    }
}
