//! What a benchmark found: figures and targets, printed as a table and written to
//! docs/benchmarks.md (one section per benchmark; a run replaces the sections it ran).

use std::fmt::Write as _;
use std::path::Path;

pub struct Section {
    pub name: &'static str,
    pub title: &'static str,
    /// What was measured and how, one line each.
    pub method: Vec<String>,
    /// (what, figure).
    pub figures: Vec<(String, String)>,
    pub targets: Vec<Target>,
    pub notes: Vec<String>,
}

pub struct Target {
    pub what: String,
    pub goal: String,
    pub measured: String,
    pub met: bool,
}

impl Section {
    pub fn new(name: &'static str, title: &'static str) -> Self {
        Self {
            name,
            title,
            method: Vec::new(),
            figures: Vec::new(),
            targets: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn method(&mut self, line: impl Into<String>) {
        self.method.push(line.into());
    }

    pub fn figure(&mut self, what: impl Into<String>, value: impl Into<String>) {
        self.figures.push((what.into(), value.into()));
    }

    pub fn target(
        &mut self,
        what: impl Into<String>,
        goal: impl Into<String>,
        measured: impl Into<String>,
        met: bool,
    ) {
        self.targets.push(Target {
            what: what.into(),
            goal: goal.into(),
            measured: measured.into(),
            met,
        });
    }

    pub fn note(&mut self, line: impl Into<String>) {
        self.notes.push(line.into());
    }

    /// The section as plain text for the terminal.
    pub fn print(&self) {
        println!("\n== {} ({}) ==", self.title, self.name);
        let width = self
            .figures
            .iter()
            .map(|(w, _)| w.chars().count())
            .chain(self.targets.iter().map(|t| t.what.chars().count()))
            .max()
            .unwrap_or(10);
        for (what, value) in &self.figures {
            println!("  {what:<width$}  {value}");
        }
        for target in &self.targets {
            println!(
                "  {:<width$}  {} (target {}): {}",
                target.what,
                target.measured,
                target.goal,
                if target.met { "MET" } else { "NOT MET" }
            );
        }
        for note in &self.notes {
            println!("  note: {note}");
        }
    }

    fn markdown(&self, date: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "<!-- bench:{} -->", self.name);
        let _ = writeln!(
            out,
            "## {} (`cargo xtask bench {}`)\n",
            self.title, self.name
        );
        let _ = writeln!(out, "Measured {date}.\n");
        for line in &self.method {
            let _ = writeln!(out, "- {line}");
        }
        let _ = writeln!(out, "\n| figure | value |\n|---|---|");
        for (what, value) in &self.figures {
            let _ = writeln!(out, "| {what} | {value} |");
        }
        if !self.targets.is_empty() {
            let _ = writeln!(
                out,
                "\n| target | goal | measured | met |\n|---|---|---|---|"
            );
            for t in &self.targets {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    t.what,
                    t.goal,
                    t.measured,
                    if t.met { "yes" } else { "**no**" }
                );
            }
        }
        if !self.notes.is_empty() {
            out.push('\n');
            for note in &self.notes {
                let _ = writeln!(out, "{note}\n");
            }
        }
        let _ = writeln!(out, "<!-- /bench:{} -->", self.name);
        out
    }
}

/// The sections of an earlier file, by name.
fn old_sections(text: &str) -> Vec<(String, String)> {
    let mut sections = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("<!-- bench:") {
        let after = &rest[start + "<!-- bench:".len()..];
        let Some(name_end) = after.find(" -->") else {
            break;
        };
        let name = after[..name_end].to_owned();
        let close = format!("<!-- /bench:{name} -->");
        let Some(end) = rest[start..].find(&close) else {
            break;
        };
        let end = start + end + close.len();
        sections.push((name, format!("{}\n", &rest[start..end])));
        rest = &rest[end..];
    }
    sections
}

pub const ORDER: &[&str] = &["login", "readings", "meters", "uploads", "scale", "journey"];

/// Writes the report: the header anew, the sections of this run, and the other sections as
/// they were in the earlier file.
pub fn write(path: &Path, header: &str, sections: &[Section], date: &str) -> anyhow::Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let old = old_sections(&old);
    let mut out = String::from(header);
    for name in ORDER {
        if let Some(section) = sections.iter().find(|s| s.name == *name) {
            out.push('\n');
            out.push_str(&section.markdown(date));
        } else if let Some((_, text)) = old.iter().find(|(n, _)| n == name) {
            out.push('\n');
            out.push_str(text);
        }
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, out)?;
    Ok(())
}

pub fn ratio(value: f64, baseline: f64) -> f64 {
    if baseline > 0.0 {
        value / baseline
    } else {
        0.0
    }
}
