//! LaTeX read as the `latex` format writes it and as people write it: the math of a line,
//! a display or a whole `.tex` document, cut into rows and lowered to the characters of
//! the plain notation, each carrying the line and column it came from, for the one parser
//! of `notation` to read.
//!
//! Math is what stands between `$…$`, `$$…$$`, `\(…\)`, `\[…\]` or in a math environment
//! (`align`, `equation`, `gather`, … starred or not); a row ends at `\\` or where the math
//! ends, and a row that opens with a sign (`&\quad + w_{9} x_{13}`) continues the one
//! before. Lowered: `\frac{A}{B}` to `A/B`, `\partial` to `∂`, `\delta` to `δ`, `\cdot`
//! and `\times` to `·`, spacing commands to a space, `\mathrm{…}` and other font
//! commands to their content, `\label{…}` and `\tag{…}` to nothing; the braces of a
//! subscript or superscript are kept (`x_{13}`), others dropped. A matrix or another
//! environment nested in a row keeps its rows together, and its text makes the row no
//! equation. Text outside math is not read; a `%` comment neither.

use alloc::string::String;
use alloc::vec::Vec;

/// One character of the plain notation, and where it was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Symbol {
    /// The character.
    pub character: char,
    /// The 1-based line of the input.
    pub line: usize,
    /// The 1-based column (in characters) on that line.
    pub column: usize,
}

/// One row of math: its symbols, and its text as written, for a note.
#[derive(Clone, Debug, Default)]
pub(super) struct Row {
    /// The row lowered to the plain notation.
    pub symbols: Vec<Symbol>,
    /// The row as written, lines joined by a space.
    pub text: String,
}

impl Row {
    /// The line the row starts on: its first symbol that is not a space.
    pub fn line(&self) -> Option<usize> {
        self.symbols
            .iter()
            .find(|symbol| !symbol.character.is_whitespace())
            .map(|symbol| symbol.line)
    }

    /// Whether the row opens with a sign: the rest of the row before.
    fn continues(&self) -> bool {
        self.symbols
            .iter()
            .find(|symbol| !symbol.character.is_whitespace())
            .is_some_and(|symbol| matches!(symbol.character, '+' | '-' | '−'))
    }

    fn push(&mut self, character: char, line: usize, column: usize) {
        self.symbols.push(Symbol {
            character,
            line,
            column,
        });
    }
}

/// Where a command starts: its line's characters, its position among them, the line's
/// number.
#[derive(Clone, Copy)]
struct Place<'a> {
    chars: &'a [char],
    position: usize,
    line: usize,
}

/// What ends the math being read.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Closer {
    Dollar,
    DoubleDollar,
    Bracket,
    Parenthesis,
    Environment(String),
    /// A line of LaTeX that opens no math, outside a document: a row pasted alone,
    /// `z_{1} &= w_{1} x_{1} \\`.
    Line,
}

/// What a `{` opened, and so what its `}` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Group {
    /// A grouping: the braces are dropped.
    Plain,
    /// A subscript's or superscript's: the braces are kept, `x_{13}`.
    Kept,
    /// `\frac`'s numerator: its `}` writes the `/`.
    Numerator,
    /// `\tilde{x}`'s argument: its `}` writes the combining tilde, `x̃`.
    Tilde,
    /// `\label{…}`, `\tag{…}`, `\hspace{…}`: nothing inside is read.
    Skipped,
}

/// The environments whose content is math, each row an equation.
const MATH_ENVIRONMENTS: [&str; 10] = [
    "equation",
    "align",
    "alignat",
    "flalign",
    "gather",
    "multline",
    "eqnarray",
    "displaymath",
    "math",
    "dmath",
];

/// Environments inside math that only arrange rows: their `\\` ends a row as well.
const ROW_ENVIRONMENTS: [&str; 5] = ["aligned", "alignedat", "gathered", "split", "multlined"];

/// Whether `name` (starred or not) is one of `names`.
fn among(names: &[&str], name: &str) -> bool {
    names.contains(&name.strip_suffix('*').unwrap_or(name))
}

/// The reader, across lines: rows are handed out once complete, and each held back until
/// the next shows whether it continues it.
#[derive(Clone, Debug, Default)]
pub(super) struct Reader {
    /// What ends the current math; `None` outside math.
    closer: Option<Closer>,
    /// Environments open inside the current row (a matrix): its `\\` does not end the row.
    nested: usize,
    /// Open braces, innermost last.
    groups: Vec<Group>,
    /// What the next `{` opens, set by the command before it.
    next_group: Option<Group>,
    /// Whether `\documentclass` or `\begin{document}` was read.
    document: bool,
    /// The row being read.
    row: Row,
    /// The last complete row, not yet handed out.
    held: Option<Row>,
    /// How many rows have ended: a row's text is what was read while it was open.
    rows_ended: usize,
}

/// Whether a line opens math or a document: a `$`, `\[`, `\(` or `\begin`, or
/// `\documentclass`.
fn opens_math(line: &str) -> bool {
    line.contains('$')
        || ["\\[", "\\(", "\\begin", "\\documentclass"]
            .iter()
            .any(|opener| line.contains(opener))
}

/// Whether a line outside math must be read as LaTeX: it has a command or a `$`.
pub(super) fn is_latex(line: &str) -> bool {
    line.contains('\\') || line.contains('$')
}

impl Reader {
    /// Whether `line`, read next, is LaTeX: inside math, in a document, or marked up.
    pub fn takes(&self, line: &str) -> bool {
        self.closer.is_some() || self.document || is_latex(line)
    }

    /// Reads line `number`; complete rows go to `rows`.
    pub fn read(&mut self, number: usize, line: &str, rows: &mut Vec<Row>) {
        let chars: Vec<char> = line.chars().collect();
        let mut position = 0;
        if self.closer.is_none() && !self.document && !opens_math(line) {
            self.open(Closer::Line);
        }
        while let Some(&c) = chars.get(position) {
            if c == '%' {
                break;
            }
            let (in_math, rows_before) = (self.closer.is_some(), self.rows_ended);
            let command = (c == '\\').then(|| command_at(&chars, position + 1));
            let consumed = match (&self.closer, command) {
                (None, Some(name)) => self.outside_command(&chars, position, &name),
                (None, None) => self.outside(&chars, position),
                (Some(_), Some(name)) => {
                    let at = Place {
                        chars: &chars,
                        position,
                        line: number,
                    };
                    self.math_command(&at, &name, rows)
                }
                (Some(_), None) => self.math(&chars, position, number, rows),
            }
            .max(1);
            let end = position + consumed;
            // The row's text as written: what was read inside it, not what opened or ended it.
            if in_math && self.closer.is_some() && self.rows_ended == rows_before {
                let text = chars.get(position..end).unwrap_or_default();
                self.row.text.extend(text.iter());
            }
            position = end;
        }
        if self.closer == Some(Closer::Line) {
            self.close(rows);
        } else if self.closer.is_some() {
            self.row.push(' ', number, chars.len() + 1);
            self.row.text.push(' ');
        }
    }

    /// The end of the input: the rows of math never closed.
    pub fn finish(&mut self, rows: &mut Vec<Row>) {
        if self.closer.is_some() {
            self.close(rows);
        }
    }

    /// Outside math, a character that is not a command: `$` opens math.
    fn outside(&mut self, chars: &[char], position: usize) -> usize {
        if chars.get(position) != Some(&'$') {
            return 1;
        }
        if chars.get(position + 1) == Some(&'$') {
            self.open(Closer::DoubleDollar);
            2
        } else {
            self.open(Closer::Dollar);
            1
        }
    }

    /// Outside math, a command: `\[`, `\(` and math environments open math.
    fn outside_command(&mut self, chars: &[char], position: usize, name: &str) -> usize {
        let length = 1 + name.chars().count();
        match name {
            "[" => self.open(Closer::Bracket),
            "(" => self.open(Closer::Parenthesis),
            "documentclass" => self.document = true,
            "begin" => {
                let Some((environment, argument)) = argument_at(chars, position + length) else {
                    return length;
                };
                if environment == "document" {
                    self.document = true;
                } else if among(&MATH_ENVIRONMENTS, &environment) {
                    self.open(Closer::Environment(environment));
                }
                return length + argument;
            }
            _ => {}
        }
        length
    }

    fn open(&mut self, closer: Closer) {
        self.closer = Some(closer);
        self.nested = 0;
        self.groups.clear();
        self.next_group = None;
        self.row = Row::default();
    }

    /// Ends the math: its last row is complete.
    fn close(&mut self, rows: &mut Vec<Row>) {
        self.end_row(rows);
        rows.extend(self.held.take());
        self.closer = None;
    }

    /// The row read is complete: held, or joined to the one held if it continues it.
    fn end_row(&mut self, rows: &mut Vec<Row>) {
        let row = core::mem::take(&mut self.row);
        self.rows_ended += 1;
        if row.line().is_none() {
            return;
        }
        match &mut self.held {
            Some(held) if row.continues() => {
                held.symbols.extend(row.symbols);
                held.text.push(' ');
                held.text.push_str(row.text.trim());
            }
            _ => rows.extend(self.held.replace(row)),
        }
    }

    /// In math, a character that is not a command.
    fn math(&mut self, chars: &[char], position: usize, line: usize, rows: &mut Vec<Row>) -> usize {
        let Some(&c) = chars.get(position) else {
            return 1;
        };
        let column = position + 1;
        let group = self.groups.last().copied();
        if group == Some(Group::Skipped) && !matches!(c, '{' | '}') {
            return 1;
        }
        match c {
            '$' => {
                let double = chars.get(position + 1) == Some(&'$');
                match (&self.closer, double) {
                    (Some(Closer::DoubleDollar), true) => {
                        self.close(rows);
                        return 2;
                    }
                    (Some(Closer::Dollar), _) => {
                        self.close(rows);
                        return 1;
                    }
                    _ => self.row.push(c, line, column),
                }
            }
            '{' => {
                let opened = self.next_group.take().unwrap_or(Group::Plain);
                let kept = group == Some(Group::Skipped);
                let opened = if kept { Group::Skipped } else { opened };
                if opened == Group::Kept {
                    self.row.push('{', line, column);
                }
                self.groups.push(opened);
            }
            '}' => match self.groups.pop() {
                // A stray `}` is kept too: the parser says where it is.
                Some(Group::Kept) | None => self.row.push('}', line, column),
                Some(Group::Numerator) => {
                    self.row.push('/', line, column);
                }
                Some(Group::Tilde) => self.row.push('\u{303}', line, column),
                Some(Group::Plain | Group::Skipped) => {}
            },
            '_' | '^' => {
                self.row.push(c, line, column);
                self.next_group = Some(Group::Kept);
            }
            '&' => {}
            '~' => self.row.push(' ', line, column),
            _ => self.row.push(c, line, column),
        }
        if c != '_' && c != '^' && !c.is_whitespace() && c != '{' {
            self.next_group = None;
        }
        1
    }

    /// In math, a command.
    fn math_command(&mut self, at: &Place, name: &str, rows: &mut Vec<Row>) -> usize {
        let Place {
            chars,
            position,
            line,
        } = *at;
        let length = 1 + name.chars().count();
        let column = position + 1;
        if self.groups.last() == Some(&Group::Skipped) {
            return length;
        }
        let mut lowered = |character| self.row.push(character, line, column);
        match name {
            "]" if self.closer == Some(Closer::Bracket) => self.close(rows),
            ")" if self.closer == Some(Closer::Parenthesis) => self.close(rows),
            "\\" | "cr" if self.nested == 0 => {
                self.end_row(rows);
                return length + optional_at(chars, position + length);
            }
            "begin" | "end" => return self.environment(at, length, rows),
            "frac" | "dfrac" | "tfrac" => self.next_group = Some(Group::Numerator),
            "tilde" | "widetilde" => self.next_group = Some(Group::Tilde),
            "mathrm" | "mathit" | "mathbf" | "mathsf" | "boldsymbol" | "text" | "textrm"
            | "operatorname" | "mathnormal" => self.next_group = Some(Group::Plain),
            "label" | "tag" | "hspace" | "vspace" | "phantom" | "hphantom" | "vphantom" => {
                self.next_group = Some(Group::Skipped);
            }
            "left" | "right" | "bigl" | "bigr" | "Bigl" | "Bigr" | "big" | "Big" | "nonumber"
            | "notag" | "displaystyle" | "limits" | "nolimits" => {}
            "," | ";" | ":" | "!" | " " | "quad" | "qquad" | "enspace" | "thinspace" => {
                lowered(' ');
            }
            _ => match symbol_for(name) {
                Some(character) => lowered(character),
                // Kept as written: the parser stops at it, and says where.
                None => self.keep(chars, position..position + length, line),
            },
        }
        length
    }

    /// `\begin{…}` or `\end{…}` in math.
    /// `length` is that of the command, `\begin` or `\end`.
    fn environment(&mut self, at: &Place, length: usize, rows: &mut Vec<Row>) -> usize {
        let Place {
            chars,
            position,
            line,
        } = *at;
        let name = if chars.get(position + 1) == Some(&'b') {
            "begin"
        } else {
            "end"
        };
        let Some((environment, argument)) = argument_at(chars, position + length) else {
            return length;
        };
        let consumed = length + argument;
        if name == "end" && self.closer == Some(Closer::Environment(environment.clone())) {
            self.close(rows);
        } else if among(&ROW_ENVIRONMENTS, &environment) || among(&MATH_ENVIRONMENTS, &environment)
        {
            // Rows arranged inside the math: nothing to read in the command itself.
        } else {
            if name == "begin" {
                self.nested += 1;
            } else {
                self.nested = self.nested.saturating_sub(1);
            }
            self.keep(chars, position..position + consumed, line);
        }
        consumed
    }

    /// The characters `span` of line `line`, kept in the row as written.
    fn keep(&mut self, chars: &[char], span: core::ops::Range<usize>, line: usize) {
        let start = span.start;
        for (offset, character) in chars.get(span).unwrap_or_default().iter().enumerate() {
            self.row.push(*character, line, start + 1 + offset);
        }
    }
}

/// The name of the command kept as written at symbol `at`, if one starts there: the
/// parser stopped at a command it does not read.
pub(super) fn command_kept(symbols: &[Symbol], at: usize) -> Option<String> {
    let rest = symbols.get(at..)?;
    if rest.first()?.character != '\\' {
        return None;
    }
    let first = rest.first()?;
    // The command's own letters: on its line, one column after another.
    let name: String = rest
        .iter()
        .zip(first.column..)
        .skip(1)
        .take_while(|(symbol, column)| {
            symbol.line == first.line
                && symbol.column == *column
                && symbol.character.is_ascii_alphabetic()
        })
        .map(|(symbol, _)| symbol.character)
        .collect();
    (!name.is_empty()).then_some(name)
}

/// The plain notation's character for a LaTeX command that stands for one.
fn symbol_for(name: &str) -> Option<char> {
    Some(match name {
        "cdot" | "times" | "ast" | "bullet" | "cdotp" => '·',
        "delta" => 'δ',
        "partial" => '∂',
        "dots" | "cdots" | "ldots" => '…',
        "sum" | "Sigma" => 'Σ',
        "le" | "leq" | "leqslant" => '≤',
        "ge" | "geq" | "geqslant" => '≥',
        "lt" => '<',
        "gt" => '>',
        "mid" | "vert" => '|',
        "lfloor" => '⌊',
        "rfloor" => '⌋',
        "in" => '∈',
        "{" => '{',
        "}" => '}',
        _ => return None,
    })
}

/// The name of the command whose letters (or single other character) start at `start`,
/// just after its backslash: `frac`, `\\`, `,`.
fn command_at(chars: &[char], start: usize) -> String {
    let letters: String = chars
        .get(start..)
        .unwrap_or_default()
        .iter()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    if letters.is_empty() {
        chars
            .get(start)
            .map(|c| String::from(*c))
            .unwrap_or_default()
    } else {
        letters
    }
}

/// The longest environment name or optional argument looked for: a bound, so that a line
/// of unclosed `\begin{` is read in linear time.
const LONGEST_ARGUMENT: usize = 64;

/// A braced argument starting at `start` (spaces before it allowed), such as an
/// environment's name: its text, and the characters it takes.
fn argument_at(chars: &[char], start: usize) -> Option<(String, usize)> {
    let rest = chars.get(start..)?;
    let spaces = rest.iter().take_while(|c| c.is_whitespace()).count();
    if rest.get(spaces) != Some(&'{') {
        return None;
    }
    let inner = rest.get(spaces + 1..)?;
    let close = inner
        .iter()
        .take(LONGEST_ARGUMENT)
        .position(|&c| c == '}')?;
    let name: String = inner.get(..close)?.iter().collect();
    Some((String::from(name.trim()), spaces + close + 2))
}

/// The characters of an optional argument `[…]` starting at `start`, e.g. `\\[2pt]`; 0
/// when there is none.
fn optional_at(chars: &[char], start: usize) -> usize {
    let rest = chars.get(start..).unwrap_or_default();
    if rest.first() != Some(&'[') {
        return 0;
    }
    rest.iter()
        .take(LONGEST_ARGUMENT)
        .position(|&c| c == ']')
        .map_or(0, |close| close + 1)
}

#[cfg(test)]
mod tests;
