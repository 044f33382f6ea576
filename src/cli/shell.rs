//! What a shell and a newcomer get: completion scripts and the man page, both from the clap
//! definitions in [`super::args`] (so a new flag appears in both without anyone writing it
//! twice), and what `kvscope` alone prints when there is nothing to watch.

use clap::CommandFactory;

use super::args::Cli;

/// The completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "kvscope", &mut out);
    out
}

/// The man page, in roff: the program's synopsis and description, then a section per command
/// with its synopsis and options, then exit status, files and environment.
pub fn man() -> Vec<u8> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let top = clap_mangen::Man::new(cmd.clone()).date(env!("CARGO_PKG_VERSION"));
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = top.render_title(&mut out);
    let _ = top.render_name_section(&mut out);
    let _ = top.render_synopsis_section(&mut out);
    let _ = top.render_description_section(&mut out);
    out.extend_from_slice(START.as_bytes());
    for sub in cmd.get_subcommands() {
        let name = sub.get_name();
        out.extend_from_slice(format!(".SH \"KVSCOPE {}\"\n", name.to_uppercase()).as_bytes());
        let page = clap_mangen::Man::new(sub.clone().name(format!("kvscope {name}")));
        let mut part = Vec::new();
        let _ = page.render_synopsis_section(&mut part);
        let _ = page.render_description_section(&mut part);
        let _ = page.render_options_section(&mut part);
        // The command's own sections become subsections of its section.
        for line in String::from_utf8_lossy(&part).lines() {
            match line.strip_prefix(".SH ") {
                Some(title) => out.extend_from_slice(format!(".SS {title}\n").as_bytes()),
                None => {
                    out.extend_from_slice(line.as_bytes());
                    out.push(b'\n');
                }
            }
        }
    }
    out.extend_from_slice(TAIL.as_bytes());
    tidy(&out)
}

/// The page as troff wants it: the two-line string definition each rendered part starts with
/// kept once, and every character outside ASCII written as its `\[uXXXX]` escape (troff without
/// `preconv` reads bytes, not UTF-8).
fn tidy(page: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(page);
    let mut kept = 0;
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        if line.starts_with(".ie \\n(.g .ds Aq") || line.starts_with(".el .ds Aq") {
            kept += 1;
            if kept > 2 {
                continue;
            }
        }
        for c in line.chars() {
            if c.is_ascii() {
                out.push(c);
            } else {
                out.push_str(&format!("\\[u{:04X}]", u32::from(c)));
            }
        }
        out.push('\n');
    }
    out.into_bytes()
}

const START: &str = r#".SH "START HERE"
.TP
\fBkvscope demo\fR
A real recorded LMCache 0.5.6 run and a real vLLM scrape, replayed over loopback, in the
terminal UI (q quits, ? shows the keys).
.TP
\fBkvscope watch \-\-lmcache\fR \fIURL\fR [\fB\-\-engine\fR \fIURL\fR]
Your own LMCache multiprocess server, and the engine beside it.
.TP
\fBkvscope\fR
Watches the targets the config file names; without any, prints the help.
"#;

const TAIL: &str = r#".SH "EXIT STATUS"
.TP
\fB0\fR
Success.
.TP
\fB1\fR
\fBreport \-\-fail\-on\fR: a rule of that severity or above fires; \fBverify\fR: the packet is damaged.
.TP
\fB2\fR
Bad input: the message names it.
.TP
\fB3\fR
A target (or Prometheus) could not be reached.
.TP
\fB128+n\fR
Stopped by signal \fIn\fR, after the terminal was restored.
.SH FILES
.TP
\fI$XDG_CONFIG_HOME/kvscope/config.toml\fR (else \fI~/.config/kvscope/config.toml\fR)
Targets ([[target]] tables with their own headers and TLS files), timing, theme, keys and
finding thresholds for watch, demo and fleet.
.TP
\fI$XDG_STATE_HOME/kvscope/kvscope.log\fR (else \fI~/.local/state/kvscope/kvscope.log\fR)
The live commands' log.
.SH ENVIRONMENT
.TP
\fBNO_COLOR\fR
Set and not empty: the mono theme.
.TP
\fBSSL_CERT_FILE\fR, \fBSSL_CERT_DIR\fR
Where the system's CA certificates are, when not in the usual places; \fB\-\-ca\-cert\fR adds more.
"#;

/// What `kvscope` alone prints when the config file names no targets: the two commands a
/// newcomer needs, then the full help.
pub fn newcomer_help() -> String {
    let where_config = crate::config::default_path()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "~/.config/kvscope/config.toml".into());
    let help = Cli::command().render_help();
    format!(
        "Start here:\n  \
         kvscope demo                                 a real recorded LMCache + vLLM run, in the terminal UI\n  \
         kvscope watch --lmcache URL [--engine URL]   your own LMCache server (and its engine)\n\n\
         With targets in {where_config} (lmcache = [\"http://host:8080\"]), `kvscope` alone watches them.\n\n\
         {help}"
    )
}
