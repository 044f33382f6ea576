//! Reading Rust source as text, well enough to check the house: comments and literals blanked,
//! test items cut, and the paths a file names.

/// `text` with comments blanked and the contents of string and character literals blanked,
/// newlines kept: what is left is code whose braces balance.
pub fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let blank = |out: &mut Vec<u8>, c: u8| out.push(if c == b'\n' { b'\n' } else { b' ' });
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                blank(&mut out, b[i]);
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    out.extend(b"  ");
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    out.extend(b"  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, b[i]);
                    i += 1;
                }
            }
        } else if c == b'r'
            && (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        {
            // A raw string: r"…", r#"…"#.
            let hashes = b[i + 1..].iter().take_while(|&&h| h == b'#').count();
            if b.get(i + 1 + hashes) != Some(&b'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            out.push(b'"');
            i += 2 + hashes;
            while i < b.len() && !b[i..].starts_with(&close) {
                blank(&mut out, b[i]);
                i += 1;
            }
            out.push(b'"');
            i += close.len();
        } else if c == b'"' {
            out.push(b'"');
            i += 1;
            while i < b.len() && b[i] != b'"' {
                let step = if b[i] == b'\\' { 2 } else { 1 };
                for k in 0..step {
                    if let Some(&x) = b.get(i + k) {
                        blank(&mut out, x);
                    }
                }
                i += step;
            }
            out.push(b'"');
            i += 1;
        } else if c == b'\'' {
            // A character literal ('x', '\n', '\u{7b}', '{'), else a lifetime or label.
            let end = if b.get(i + 1) == Some(&b'\\') {
                b[i + 2..]
                    .iter()
                    .position(|&x| x == b'\'')
                    .map(|p| i + 2 + p)
            } else {
                let ch = text[i + 1..].chars().next().map_or(1, char::len_utf8);
                (b.get(i + 1 + ch) == Some(&b'\'')).then_some(i + 1 + ch)
            };
            match end {
                Some(e) => {
                    out.push(b'\'');
                    out.extend(std::iter::repeat_n(b' ', e - i - 1));
                    out.push(b'\'');
                    i = e + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    // Multi-byte characters were blanked byte by byte or copied whole.
    String::from_utf8_lossy(&out).into_owned()
}

/// The production part of code (from [`code_only`]): every item carrying `#[cfg(test)]` is cut,
/// whether it is a `mod tests;` declaration, a `mod tests { … }` block or any other item.
pub fn production(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let item = &rest[at..];
        let b = item.as_bytes();
        // The item ends at its first `;` outside braces, or at the brace closing its first `{`.
        let mut depth = 0usize;
        let mut end = item.len();
        for (i, &c) in b.iter().enumerate().skip("#[cfg(test)]".len()) {
            match c {
                b'{' => depth += 1,
                b'}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                b';' if depth == 0 => {
                    end = i + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

/// Every path written in `code` that starts with `crate::`, `super::` or `kvscope_core::`, as
/// its segments (`{…}` groups expanded; `self` and `*` dropped). The first segment is `crate`
/// or `super` (`kvscope_core` counts as `crate`: the root re-exports the core's modules).
pub fn paths(code: &str) -> Vec<Vec<String>> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts_word = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
        let rest = &code[i..];
        let head = ["crate::", "super::", "kvscope_core::"]
            .into_iter()
            .find(|h| rest.starts_with(h));
        match head {
            Some(h) if starts_word && !(i >= 2 && &code[i - 2..i] == "::") => {
                let root = if h == "super::" { "super" } else { "crate" };
                let mut end = 0;
                tree(&rest[h.len()..], vec![root.to_string()], &mut out, &mut end);
                i += h.len() + end.max(1);
            }
            _ => i += 1,
        }
    }
    out
}

/// Parses one use-tree (`a::b::{c, d::e}`) at the start of `s` after `prefix`, pushing every
/// path it names; `end` is how far it read.
pub fn tree(s: &str, prefix: Vec<String>, out: &mut Vec<Vec<String>>, end: &mut usize) {
    let mut path = prefix;
    let b = s.as_bytes();
    let mut i = 0;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if b.get(i) == Some(&b'{') {
            i += 1;
            loop {
                let mut used = 0;
                tree(&s[i..], path.clone(), out, &mut used);
                i += used;
                while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b',') {
                    i += 1;
                }
                if i >= b.len() || b[i] == b'}' {
                    i += 1;
                    break;
                }
            }
            *end = i.min(b.len());
            return;
        }
        let word: usize = s[i..]
            .bytes()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
            .count();
        if word > 0 {
            let w = &s[i..i + word];
            if w != "self" {
                path.push(w.to_string());
            }
            i += word;
        } else if b.get(i) == Some(&b'*') {
            i += 1;
        }
        if s[i..].starts_with("::") && !s[i..].starts_with("::<") {
            i += 2;
            continue;
        }
        out.push(path);
        *end = i;
        return;
    }
}

/// Every function with a body in `code` (from [`code_only`]): its name, first line (1-based)
/// and length in lines, from `fn` to its closing brace.
pub fn functions(code: &str) -> Vec<(String, usize, usize)> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    for (at, _) in code.match_indices("fn ") {
        let word_start = at == 0 || !(b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_');
        if !word_start {
            continue;
        }
        let name: String = code[at + 3..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            continue;
        }
        let (Some(open), semi) = (code[at..].find('{'), code[at..].find(';')) else {
            continue;
        };
        if semi.is_some_and(|s| s < open) {
            continue;
        }
        let mut depth = 0usize;
        let mut end = code.len();
        for (i, c) in code[at + open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = at + open + i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let first = code[..at].matches('\n').count() + 1;
        let last = code[..end].matches('\n').count() + 1;
        out.push((name, first, last - first + 1));
    }
    out
}
