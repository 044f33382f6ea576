//! A newcomer's first commands: `kvscope` alone, the completion scripts and the man page, run
//! through the real shells and troff where the machine has them.

use std::process::{Command, Output};

fn kvscope_in(config_home: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .args(args)
        .env("XDG_CONFIG_HOME", config_home)
        .env_remove("NO_COLOR")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("kvscope-shell-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("kvscope")).unwrap();
    dir
}

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn kvscope_alone_starts_a_newcomer_or_watches_the_configured_targets() {
    let empty = scratch("empty");
    let o = kvscope_in(&empty, &[]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    let head: Vec<&str> = out.lines().take(3).collect();
    assert_eq!(head[0], "Start here:");
    assert!(head[1].trim_start().starts_with("kvscope demo"), "{out}");
    assert!(
        head[2]
            .trim_start()
            .starts_with("kvscope watch --lmcache URL"),
        "{out}"
    );
    // The full help follows, with every command.
    for cmd in ["watch", "fleet", "report", "replay", "completions", "man"] {
        assert!(
            out.contains(&format!("\n  {cmd} ")),
            "{cmd} missing from:\n{out}"
        );
    }

    // A config file naming a target: `kvscope` alone is `kvscope watch`, which needs a terminal
    // (this test has none) and says so.
    let with = scratch("targets");
    std::fs::write(
        with.join("kvscope/config.toml"),
        "[[target]]\nlmcache = \"http://127.0.0.1:9\"\n",
    )
    .unwrap();
    let o = kvscope_in(&with, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("kvscope watch draws on a terminal"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // A broken config file is named, not ignored.
    std::fs::write(with.join("kvscope/config.toml"), "lmcache = 3\n").unwrap();
    let o = kvscope_in(&with, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("config.toml"));
    let _ = std::fs::remove_dir_all(empty);
    let _ = std::fs::remove_dir_all(with);
}

#[test]
fn bash_completes_commands_flags_and_values_from_the_generated_script() {
    let dir = scratch("bash");
    let o = kvscope_in(&dir, &["completions", "bash"]);
    assert!(o.status.success());
    let script = dir.join("kvscope.bash");
    std::fs::write(&script, &o.stdout).unwrap();
    // Each case: the words typed, the word being completed, what must be offered.
    let cases = [
        ("kvscope wa", "watch"),
        ("kvscope report --fo", "--format"),
        ("kvscope report --format ", "markdown"),
        ("kvscope watch --ca", "--ca-cert"),
        ("kvscope completions ", "fish"),
    ];
    for (line, want) in cases {
        let words: Vec<String> = if line.ends_with(' ') {
            line.split_whitespace()
                .map(str::to_string)
                .chain([String::new()])
                .collect()
        } else {
            line.split_whitespace().map(str::to_string).collect()
        };
        let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
        let cword = words.len() - 1;
        let prev = &words[cword.saturating_sub(1)];
        let cur = &words[cword];
        let program = format!(
            "source '{}'; COMP_WORDS=({}); COMP_CWORD={cword}; COMP_LINE='{line}'; COMP_POINT={}; \
             _kvscope kvscope '{cur}' '{prev}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display(),
            quoted.join(" "),
            line.len()
        );
        let o = Command::new("bash")
            .args(["-c", &program])
            .output()
            .unwrap();
        let offered = String::from_utf8_lossy(&o.stdout);
        assert!(
            offered.lines().any(|l| l == want),
            "`{line}` should offer {want}; bash offered:\n{offered}{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn zsh_and_fish_scripts_load_in_their_shells_where_installed() {
    let dir = scratch("zshfish");
    for shell in ["zsh", "fish"] {
        let o = kvscope_in(&dir, &["completions", shell]);
        assert!(o.status.success(), "{shell}");
        let text = String::from_utf8_lossy(&o.stdout);
        for cmd in ["watch", "fleet", "report", "man", "ca-cert"] {
            assert!(text.contains(cmd), "{shell} script lacks {cmd}");
        }
        if !have(shell) {
            assert!(
                std::env::var_os("KVSCOPE_REQUIRE_SHELLS").is_none(),
                "{shell} is required here (KVSCOPE_REQUIRE_SHELLS) but not installed"
            );
            eprintln!(
                "SKIPPED: {shell} is not installed (Debian: apt-get install {shell}); its script was only read, not loaded"
            );
            continue;
        }
        let file = dir.join(format!("kvscope.{shell}"));
        std::fs::write(&file, &o.stdout).unwrap();
        let o = if shell == "zsh" {
            // zsh's completion system needs a terminal to run; its parser checks the script.
            Command::new("zsh").arg("-n").arg(&file).output().unwrap()
        } else {
            // fish completes a command line without a terminal: ask it as a user's tab would.
            let program = format!(
                "source '{}'; complete -C 'kvscope wa'; complete -C 'kvscope report --ca-'",
                file.display()
            );
            Command::new("fish")
                .args(["-c", &program])
                .output()
                .unwrap()
        };
        let said = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success(),
            "{shell} refuses the script: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        if shell == "fish" {
            let offered: Vec<&str> = said.lines().filter_map(|l| l.split('\t').next()).collect();
            assert_eq!(offered, ["watch", "--ca-cert"], "{said}");
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_man_page_documents_every_command_and_flag_and_troff_reads_it_cleanly() {
    let dir = scratch("man");
    let o = kvscope_in(&dir, &["man"]);
    assert!(o.status.success());
    let page = String::from_utf8(o.stdout).expect("the page is UTF-8");
    assert!(page.is_ascii(), "non-ASCII left unescaped");
    assert!(
        page.contains(".TH kvscope 1"),
        "{}",
        &page[..200.min(page.len())]
    );
    // Every command has its section, and every long flag of it is documented (as troff writes
    // a dash: `\-`).
    let help = Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() >= 12, "{commands:?}");
    for cmd in &commands {
        let section = format!(".SH \"KVSCOPE {}\"", cmd.to_uppercase());
        assert!(page.contains(&section), "no section for {cmd}");
        let sub = Command::new(env!("CARGO_BIN_EXE_kvscope"))
            .args([cmd, "--help"])
            .output()
            .unwrap();
        for flag in String::from_utf8_lossy(&sub.stdout)
            .split_whitespace()
            .filter(|w| w.starts_with("--") && w.len() > 2)
        {
            let flag = flag.trim_end_matches([',', '.', ')', ';', ':']);
            let flag = flag.split(['=', '[', '<', '`', '\'']).next().unwrap();
            let troff = flag.replace('-', "\\-");
            assert!(page.contains(&troff), "{cmd} {flag} is not in the man page");
        }
    }
    if !have("groff") {
        assert!(
            std::env::var_os("KVSCOPE_REQUIRE_SHELLS").is_none(),
            "groff is required here (KVSCOPE_REQUIRE_SHELLS) but not installed"
        );
        eprintln!(
            "SKIPPED: groff is not installed (Debian: groff-base); the page was not rendered"
        );
        return;
    }
    let file = dir.join("kvscope.1");
    std::fs::write(&file, &page).unwrap();
    let o = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(
        o.stderr.is_empty(),
        "troff warns: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    // grotty draws bold as overstrikes ("S\x08S"): keep what is left after each backspace.
    let mut shown = String::new();
    for c in String::from_utf8_lossy(&o.stdout).chars() {
        if c == '\u{8}' {
            shown.pop();
        } else {
            shown.push(c);
        }
    }
    assert!(shown.contains("START HERE") && shown.contains("EXIT STATUS"));
    let _ = std::fs::remove_dir_all(dir);
}
