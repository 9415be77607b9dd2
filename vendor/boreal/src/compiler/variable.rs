use boreal_parser::rule::{VariableDeclaration, VariableDeclarationValue};

use crate::atoms::{atom_rank, pick_atom_in_literal};
use crate::matcher::{Matcher, Modifiers};
use crate::regex::regex_ast_to_hir;
use crate::statistics;

use super::CompilationError;
use super::rule::RuleCompiler;

pub(super) fn compile_variable(
    compiler: &mut RuleCompiler,
    decl: VariableDeclaration,
    parsed_contents: &str,
) -> Result<(Matcher, Option<statistics::CompiledString>), CompilationError> {
    let VariableDeclaration {
        name,
        value,
        mut modifiers,
        span,
    } = decl;

    if !modifiers.wide {
        modifiers.ascii = true;
    }

    let res = match value {
        VariableDeclarationValue::Bytes(s) => {
            if s.is_empty() {
                Err(VariableCompilationError::Empty)
            } else {
                Ok(Matcher::new_bytes(s, &modifiers))
            }
        }
        VariableDeclarationValue::Regex(boreal_parser::regex::Regex {
            ast,
            case_insensitive,
            dot_all,
            span: _,
        }) => {
            if case_insensitive {
                modifiers.nocase = true;
            }
            let mut warnings = Vec::new();
            let hir = regex_ast_to_hir(ast, &mut warnings);
            for warn in warnings {
                compiler.add_warning(warn.into())?;
            }
            Matcher::new_regex(
                &hir,
                Modifiers {
                    fullword: modifiers.fullword,
                    wide: modifiers.wide,
                    ascii: modifiers.ascii,
                    nocase: modifiers.nocase,
                    dot_all,
                    xor_start: None,
                },
            )
            .map_err(VariableCompilationError::Regex)
        }
        VariableDeclarationValue::HexString(hex_string) => Matcher::new_regex(
            &hex_string.into(),
            Modifiers {
                fullword: modifiers.fullword,
                wide: modifiers.wide,
                ascii: modifiers.ascii,
                nocase: modifiers.nocase,
                dot_all: true,
                xor_start: None,
            },
        )
        .map_err(VariableCompilationError::Regex),
    };

    let matcher = match res {
        Ok(matcher) => matcher,
        Err(error) => {
            return Err(CompilationError::VariableCompilation {
                variable_name: name,
                span,
                error,
            });
        }
    };

    let stats = if compiler.params.compute_statistics {
        let mut atoms_quality = u32::MAX;
        let atoms: Vec<_> = matcher
            .literals
            .iter()
            .map(|lit| {
                let (atom, _) = pick_atom_in_literal(lit);
                let rank = atom_rank(atom);
                if rank < atoms_quality {
                    atoms_quality = rank;
                }
                atom.as_ref().to_vec()
            })
            .collect();

        if atoms.is_empty() {
            atoms_quality = 0;
        }

        Some(statistics::CompiledString {
            name,
            expr: parsed_contents[span.start..span.end].to_owned(),
            literals: matcher.literals.clone(),
            atoms,
            atoms_quality,
            matching_algo: matcher.to_desc(),
        })
    } else {
        None
    };

    Ok((matcher, stats))
}

/// Error during the compilation of a variable.
#[derive(Debug)]
pub enum VariableCompilationError {
    /// Variable is empty.
    Empty,

    /// Error when compiling a regex variable.
    Regex(crate::regex::Error),
}

impl std::fmt::Display for VariableCompilationError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Self::Empty => write!(f, "variable is empty"),
            Self::Regex(e) => e.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use boreal_parser::rule::VariableModifiers;

    use super::*;
    use crate::bytes_pool::BytesPoolBuilder;
    use crate::compiler::{CompilerParams, Namespace};
    use crate::regex::Regex;
    use crate::test_helpers::test_type_traits_non_clonable;

    #[test]
    fn test_types_traits() {
        let mut compiler = RuleCompiler {
            namespace: &Namespace::default(),
            variables: Vec::new(),
            bounded_identifiers: HashMap::new(),
            rule_wildcard_uses: Vec::new(),
            external_symbols: &vec![],
            params: &CompilerParams::default(),
            condition_depth: 0,
            warnings: Vec::new(),
            rules_depended_upon: Vec::new(),
            bytes_pool: &mut BytesPoolBuilder::default(),
        };
        test_type_traits_non_clonable(
            compile_variable(
                &mut compiler,
                VariableDeclaration {
                    name: "a".to_owned(),
                    value: VariableDeclarationValue::Bytes(b"foo".to_vec()),
                    modifiers: VariableModifiers::default(),
                    span: 0..1,
                },
                "",
            )
            .unwrap()
            .0,
        );

        test_type_traits_non_clonable(VariableCompilationError::Regex(
            Regex::from_string("{".to_owned(), true, true).unwrap_err(),
        ));
    }
}
