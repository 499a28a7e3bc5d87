//! `arbiter new-game NAME`: a new game module, its registration, its rules page and tests that
//! pass, written into an Arbiter workspace. The templates (in `templates/new_game/`) are the
//! built-in game `race` with its names replaced, and a test below keeps the two identical, so
//! what the command writes is known to build, register and pass.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

const MOD_RS: &str = include_str!("../templates/new_game/mod.rs.txt");
const TESTS_RS: &str = include_str!("../templates/new_game/tests.rs.txt");
const RULES_MD: &str = include_str!("../templates/new_game/rules.md.txt");

/// Where the game list lives, relative to the workspace root.
const LIB_RS: &str = "crates/games/src/lib.rs";

/// Longest accepted name: longer ones would push generated lines past rustfmt's width.
const MAX_NAME: usize = 24;

/// Names a module cannot take (strict and reserved Rust keywords, 2024 edition).
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Why `new-game` refused. It checks everything before writing anything, so a refusal leaves
/// the workspace as it was.
#[derive(Debug)]
pub enum NewGameError {
    /// The name is not a lowercase identifier of at most 24 characters.
    BadName(String),
    /// The name is a Rust keyword.
    Keyword(String),
    /// A module, file or registered game of that name exists.
    Exists(String),
    /// The root has no `crates/games/src/lib.rs`.
    NotAWorkspace(PathBuf),
    /// `lib.rs` does not have the shape the registration line is inserted into.
    UnexpectedLib(&'static str),
    /// Reading or writing a file failed.
    Io(PathBuf, io::Error),
}

impl fmt::Display for NewGameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadName(name) => write!(
                f,
                "{name:?} is not a game name: use a lowercase letter, then lowercase letters, \
                 digits and single underscores, at most {MAX_NAME} characters (e.g. `snail_race`)"
            ),
            Self::Keyword(name) => write!(f, "{name:?} is a Rust keyword; pick another name"),
            Self::Exists(what) => write!(f, "{what} already exists; pick another name"),
            Self::NotAWorkspace(root) => write!(
                f,
                "{} has no {LIB_RS}: run this in an Arbiter workspace or pass --root",
                root.display()
            ),
            Self::UnexpectedLib(what) => write!(
                f,
                "{LIB_RS} has no {what}: add the game's `pub mod` and `.with(…)` lines by hand"
            ),
            Self::Io(path, e) => write!(f, "{}: {e}", path.display()),
        }
    }
}

impl std::error::Error for NewGameError {}

/// A checked game name and the names derived from it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Names {
    /// Module and registry name: `snail_race`.
    module: String,
    /// The game's type: `SnailRace`.
    type_name: String,
    /// Human title: `Snail race`.
    title: String,
}

impl Names {
    fn parse(name: &str) -> Result<Self, NewGameError> {
        let mut chars = name.chars();
        let well_formed = chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !name.ends_with('_')
            && !name.contains("__")
            && name.len() <= MAX_NAME;
        if !well_formed {
            return Err(NewGameError::BadName(name.to_owned()));
        }
        if KEYWORDS.contains(&name) {
            return Err(NewGameError::Keyword(name.to_owned()));
        }
        let type_name = name.split('_').map(capitalized).collect();
        let title = capitalized(&name.replace('_', " "));
        Ok(Self {
            module: name.to_owned(),
            type_name,
            title,
        })
    }

    fn fill(&self, template: &str) -> String {
        template
            .replace("{{name}}", &self.module)
            .replace("{{Type}}", &self.type_name)
            .replace("{{Title}}", &self.title)
    }

    /// The files of the game, relative to the workspace root.
    fn files(&self) -> [(PathBuf, String); 3] {
        let dir = Path::new("crates/games/src").join(&self.module);
        [
            (dir.join("mod.rs"), self.fill(MOD_RS)),
            (dir.join("tests.rs"), self.fill(TESTS_RS)),
            (
                Path::new("docs/games").join(format!("{}.md", self.module)),
                self.fill(RULES_MD),
            ),
        ]
    }

    /// `lib` with `pub mod NAME;` in its sorted list of modules and `.with(NAME::Type)` at
    /// the end of the registry.
    fn register(&self, lib: &str) -> Result<String, NewGameError> {
        let mod_line = format!("pub mod {};", self.module);
        let with_prefix = format!(".with({}::", self.module);
        let lines: Vec<&str> = lib.lines().collect();
        if lines.iter().any(|l| l.trim() == mod_line) {
            return Err(NewGameError::Exists(format!("`{mod_line}` in {LIB_RS}")));
        }
        if lines.iter().any(|l| l.trim().starts_with(&with_prefix)) {
            return Err(NewGameError::Exists(format!(
                "a `{with_prefix}…)` line in {LIB_RS}"
            )));
        }
        let mods: Vec<(usize, &str)> = (lines.iter().enumerate())
            .filter_map(|(i, l)| Some((i, l.strip_prefix("pub mod ")?.strip_suffix(';')?)))
            .collect();
        let Some(&(last_mod, _)) = mods.last() else {
            return Err(NewGameError::UnexpectedLib("`pub mod …;` lines"));
        };
        // Before the first module that sorts after the new one, as rustfmt orders them.
        let mod_at = mods
            .iter()
            .find(|(_, m)| *m > self.module.as_str())
            .map_or(last_mod + 1, |&(i, _)| i);
        let Some(last_with) = lines.iter().rposition(|l| {
            let l = l.trim();
            l.starts_with(".with(") && l.ends_with(')')
        }) else {
            return Err(NewGameError::UnexpectedLib("registry of `.with(…)` lines"));
        };
        let indent =
            &lines[last_with][..lines[last_with].len() - lines[last_with].trim_start().len()];
        let with_line = format!("{indent}.with({}::{})", self.module, self.type_name);
        let mut out = String::with_capacity(lib.len() + 64);
        for (i, line) in lines.iter().enumerate() {
            if i == mod_at {
                out.push_str(&mod_line);
                out.push('\n');
            }
            out.push_str(line);
            out.push('\n');
            if i == last_with {
                out.push_str(&with_line);
                out.push('\n');
            }
        }
        Ok(out)
    }
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// Scaffold the game `name` in the workspace at `root`: its module (`mod.rs`, `tests.rs`), its
/// rules page and its registration in `crates/games/src/lib.rs`. Returns the files written
/// (relative to `root`). `taken` says whether a game of that name is registered already.
pub fn new_game(
    root: &Path,
    name: &str,
    taken: impl Fn(&str) -> bool,
) -> Result<Vec<PathBuf>, NewGameError> {
    let names = Names::parse(name)?;
    let lib_path = root.join(LIB_RS);
    if !lib_path.is_file() {
        return Err(NewGameError::NotAWorkspace(root.to_owned()));
    }
    if taken(name) {
        return Err(NewGameError::Exists(format!("a game named {name:?}")));
    }
    let files = names.files();
    let module_file = Path::new("crates/games/src").join(format!("{name}.rs"));
    let dir = Path::new("crates/games/src").join(name);
    for path in [&module_file, &dir]
        .into_iter()
        .chain(files.iter().map(|(p, _)| p))
    {
        if root.join(path).exists() {
            return Err(NewGameError::Exists(path.display().to_string()));
        }
    }
    let read = |p: &Path| fs::read_to_string(p).map_err(|e| NewGameError::Io(p.to_owned(), e));
    let lib = names.register(&read(&lib_path)?)?;
    let write = |path: &Path, text: &str| {
        let full = root.join(path);
        let made = match full.parent() {
            Some(parent) => fs::create_dir_all(parent),
            None => Ok(()),
        };
        made.and_then(|()| fs::write(&full, text))
            .map_err(|e| NewGameError::Io(full, e))
    };
    let mut written = Vec::new();
    for (path, text) in &files {
        write(path, text)?;
        written.push(path.clone());
    }
    // The registration goes last: a game half written is never registered.
    write(Path::new(LIB_RS), &lib)?;
    written.push(PathBuf::from(LIB_RS));
    Ok(written)
}

/// What to do after `new_game`, for the command to print.
pub fn next_steps(name: &str) -> String {
    let title = Names::parse(name).map_or_else(|_| name.to_owned(), |n| n.title);
    format!(
        "Next:\n\
         * run the new game's tests, which pass as written: cargo test -p arbiter-games {name}::\n\
         * play it: cargo run -- serve, then create a \"{title}\" room at http://127.0.0.1:7878/\n\
         * make it yours: change crates/games/src/{name}/mod.rs and docs/games/{name}.md\n\
         docs/authoring.md explains every part."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The workspace this crate lives in.
    fn workspace() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    fn read(path: &Path) -> String {
        fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// A fresh directory under the system's temp dir, removed on drop.
    struct TempRoot(PathBuf);

    impl TempRoot {
        fn with_lib(tag: &str, lib: &str) -> Self {
            let dir = std::env::temp_dir().join(format!(
                "arbiter-new-game-{tag}-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            let _ = fs::remove_dir_all(&dir);
            let lib_path = dir.join(LIB_RS);
            fs::create_dir_all(lib_path.parent().expect("parent")).expect("mkdir");
            fs::write(&lib_path, lib).expect("write lib.rs");
            Self(dir)
        }
    }

    impl Drop for TempRoot {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// Every file under `dir`, with its text, sorted by path.
    fn tree(dir: &Path) -> Vec<(PathBuf, String)> {
        let mut out = Vec::new();
        let mut todo = vec![dir.to_owned()];
        while let Some(d) = todo.pop() {
            for entry in fs::read_dir(&d).expect("read_dir") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    todo.push(path);
                } else {
                    out.push((path.clone(), read(&path)));
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn the_committed_race_game_is_what_new_game_race_writes() {
        let root = workspace();
        let names = Names::parse("race").expect("a good name");
        for (path, text) in names.files() {
            assert!(
                read(&root.join(&path)) == text,
                "{} differs from the template: edit both together",
                path.display()
            );
        }
        let lib = read(&root.join(LIB_RS));
        for line in ["pub mod race;", "        .with(race::Race)"] {
            assert_eq!(lib.lines().filter(|l| *l == line).count(), 1, "{line}");
        }
        // Registering race in lib.rs without it gives back lib.rs.
        let without: String = lib
            .lines()
            .filter(|l| !matches!(*l, "pub mod race;" | "        .with(race::Race)"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(names.register(&without).expect("registers"), lib);
        assert!(matches!(names.register(&lib), Err(NewGameError::Exists(_))));
    }

    #[test]
    fn names_are_checked_and_turned_into_a_type_and_a_title() {
        let names = Names::parse("snail_race2").expect("good");
        assert_eq!(
            (names.type_name.as_str(), names.title.as_str()),
            ("SnailRace2", "Snail race2")
        );
        for bad in [
            "",
            "Race",
            "2race",
            "_race",
            "race_",
            "snail__race",
            "ra-ce",
            "rüce",
            "a b",
        ] {
            assert!(
                matches!(Names::parse(bad), Err(NewGameError::BadName(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            Names::parse(&"a".repeat(25)),
            Err(NewGameError::BadName(_))
        ));
        assert!(Names::parse(&"a".repeat(24)).is_ok());
        for kw in ["mod", "type", "self", "gen", "async"] {
            assert!(
                matches!(Names::parse(kw), Err(NewGameError::Keyword(_))),
                "{kw}"
            );
        }
    }

    #[test]
    fn new_game_writes_the_module_the_page_and_one_registration() {
        let lib = "//! Games.\n\npub mod alpha;\npub mod zeta;\n\n/// All.\npub fn registry() -> Registry {\n    Registry::new()\n        .with(zeta::Zeta)\n        .with(alpha::Alpha)\n}\n";
        let root = TempRoot::with_lib("write", lib);
        let written = new_game(&root.0, "snail_race", |_| false).expect("scaffolds");
        assert_eq!(written.len(), 4);
        let mod_rs = read(&root.0.join("crates/games/src/snail_race/mod.rs"));
        assert!(
            mod_rs.contains("pub struct SnailRace;")
                && mod_rs.contains("GameInfo::new(\"snail_race\"")
        );
        assert!(!mod_rs.contains("{{") && !mod_rs.contains("race/"));
        let rules = read(&root.0.join("docs/games/snail_race.md"));
        assert!(rules.starts_with("# Snail race (`snail_race`)\n"));
        assert_eq!(
            read(&root.0.join(LIB_RS)),
            "//! Games.\n\npub mod alpha;\npub mod snail_race;\npub mod zeta;\n\n/// All.\npub fn registry() -> Registry {\n    Registry::new()\n        .with(zeta::Zeta)\n        .with(alpha::Alpha)\n        .with(snail_race::SnailRace)\n}\n"
        );

        // Again: refused, and nothing changes.
        let before = tree(&root.0);
        let again = new_game(&root.0, "snail_race", |_| false);
        assert!(matches!(again, Err(NewGameError::Exists(_))), "{again:?}");
        assert_eq!(tree(&root.0), before);
    }

    #[test]
    fn refusals_change_nothing() {
        let lib = "pub mod alpha;\npub mod beta;\n\npub fn registry() -> Registry {\n    Registry::new()\n        .with(alpha::Alpha)\n}\n";
        let root = TempRoot::with_lib("refuse", lib);
        fs::write(root.0.join("crates/games/src/gamma.rs"), "").expect("write");
        let before = tree(&root.0);
        let refused = [
            ("Bad", NewGameError::BadName(String::new())),
            ("fn", NewGameError::Keyword(String::new())),
            ("alpha", NewGameError::Exists(String::new())),
            ("gamma", NewGameError::Exists(String::new())),
            ("delta", NewGameError::Exists(String::new())),
        ];
        for (name, want) in refused {
            let got = new_game(&root.0, name, |n| n == "delta").expect_err(name);
            assert_eq!(
                std::mem::discriminant(&got),
                std::mem::discriminant(&want),
                "{name}: {got}"
            );
            assert_eq!(tree(&root.0), before, "{name} changed nothing");
        }
        let elsewhere = new_game(&root.0.join("nowhere"), "delta", |_| false);
        assert!(matches!(elsewhere, Err(NewGameError::NotAWorkspace(_))));

        let no_registry = TempRoot::with_lib("shape", "pub mod alpha;\n");
        let got = new_game(&no_registry.0, "beta", |_| false);
        assert!(
            matches!(got, Err(NewGameError::UnexpectedLib(_))),
            "{got:?}"
        );
        assert!(!no_registry.0.join("crates/games/src/beta").exists());
    }
}
