//! Colours. The default dark theme uses the 16 basic colours only; `NO_COLOR` (or
//! `--theme mono`) gives a monochrome theme that relies on bold and reverse video.

use ratatui::style::{Color, Modifier, Style};

/// Styles used by the panes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Theme {
    pub name: &'static str,
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

impl Theme {
    /// The default: dark background, 16 colours.
    pub fn dark() -> Theme {
        let fg = |c| Style::default().fg(c);
        Theme {
            name: "dark",
            text: Style::default(),
            dim: fg(Color::DarkGray),
            title: fg(Color::Cyan).add_modifier(Modifier::BOLD),
            focus: fg(Color::Yellow),
            selected: Style::default().add_modifier(Modifier::REVERSED),
            good: fg(Color::Green),
            warn: fg(Color::Yellow),
            bad: fg(Color::Red).add_modifier(Modifier::BOLD),
            info: fg(Color::Blue),
        }
    }

    /// No colour at all.
    pub fn mono() -> Theme {
        let plain = Style::default();
        Theme {
            name: "mono",
            text: plain,
            dim: plain,
            title: plain.add_modifier(Modifier::BOLD),
            focus: plain.add_modifier(Modifier::BOLD),
            selected: plain.add_modifier(Modifier::REVERSED),
            good: plain,
            warn: plain.add_modifier(Modifier::BOLD),
            bad: plain.add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            info: plain,
        }
    }

    /// By name; `NO_COLOR` wins over the default but not over an explicit choice.
    pub fn pick(name: Option<&str>, no_color: bool) -> Result<Theme, String> {
        match name {
            Some("dark") => Ok(Theme::dark()),
            Some("mono") => Ok(Theme::mono()),
            Some(other) => Err(format!("unknown theme '{other}' (dark, mono)")),
            None if no_color => Ok(Theme::mono()),
            None => Ok(Theme::dark()),
        }
    }
}
