//! The label editor: live preview with the print renderer, problems placed at the
//! element (and its line) at fault.

use super::engineer::{require_engineer, show_reconfigured, ACTOR};
use super::{lock, AppState};
use crate::ipc::*;
use crate::runner::Command;
use base64::Engine;
use hallmark_label::{render, Format, LabelData, LabelError, Template};
use tauri::State;

/// Validates a template being edited and renders it with the same renderer as print.
#[tauri::command]
pub fn label_preview(template: String, fields: Vec<(String, String)>) -> LabelPreview {
    let problem = |e: &LabelError| place(&template, e);
    let t = match Template::parse_unchecked(&template, std::path::Path::new(hallmark_label::ASSETS_DIR)) {
        Ok(t) => t,
        Err(e) => return LabelPreview { png_base64: None, errors: vec![problem(&e)] },
    };
    let data = fields.iter().fold(LabelData::sample(), |d, (k, v)| d.with(k, v.clone()));
    let errors: Vec<TemplateProblem> = t.check(&data).iter().map(problem).collect();
    if !errors.is_empty() {
        return LabelPreview { png_base64: None, errors };
    }
    match render(&t, &data, Format::Png) {
        Ok(png) => LabelPreview { png_base64: Some(base64::engine::general_purpose::STANDARD.encode(png)), errors },
        Err(e) => LabelPreview { png_base64: None, errors: vec![problem(&e)] },
    }
}

/// Where in the text a problem belongs: the element's `[[element]]` line, or the
/// line a TOML syntax error names.
fn place(text: &str, e: &LabelError) -> TemplateProblem {
    let message = e.to_string();
    let element = e.element_number();
    let line = match (element, e) {
        (Some(n), _) => text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.trim_start().starts_with("[[element]]"))
            .nth(n.saturating_sub(1))
            .map(|(i, _)| i + 1),
        (None, LabelError::Syntax(m)) => syntax_line(m),
        _ => None,
    };
    TemplateProblem { element: element.map(|n| n as u32), line: line.map(|l| l as u32), message }
}

/// The line in a TOML error message ("... at line 3, column 5").
fn syntax_line(message: &str) -> Option<usize> {
    let rest = &message[message.find("line ")? + 5..];
    rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

/// The station's label template, as text for the editor: the configured file, else
/// the embedded default.
#[tauri::command]
pub fn label_template_text(state: State<'_, AppState>) -> Result<String, ApiError> {
    match lock(&state.config).template_path() {
        Some(path) => std::fs::read_to_string(&path).map_err(|e| {
            ApiError::new(
                FailureCode::LabelTemplate,
                format!("The label template {} cannot be read.", path.display()),
                "Check the file, or call the line engineer.",
            )
            .with_detail(e)
        }),
        None => Ok(hallmark_label::DEFAULT_TEMPLATE.to_string()),
    }
}

/// Saves the edited template as the station's (`<data>/label-templates/station.toml`)
/// and puts it in force: the core checks it like a configuration (including against
/// the longest UID a probe slot's chip gives), audits it with both hashes before the
/// file is written, then points the configuration at it.
#[tauri::command]
pub async fn label_template_save(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    text: String,
) -> Result<ConfigView, ApiError> {
    require_engineer(&state)?;
    let source = Box::new(lock(&state.config).clone());
    let done = state.runner.ask(|reply| Command::SaveTemplate { source, text, actor: ACTOR.into(), reply }).await?;
    Ok(show_reconfigured(&app, &state, done))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_are_placed_at_their_element_line() {
        let text = hallmark_label::DEFAULT_TEMPLATE.replacen("data = \"{uid}\"", "data = \"{colour}\"", 1);
        let p = label_preview(text.clone(), Vec::new());
        assert!(p.png_base64.is_none());
        let first = &p.errors[0];
        let n = first.element.expect("an element is at fault") as usize;
        let line = text.lines().nth(first.line.expect("placed") as usize - 1).unwrap();
        assert!(line.trim_start().starts_with("[[element]]"), "{line}");
        assert!(first.message.contains(&format!("#{n}")), "{}", first.message);
        let broken = "width_mm = 50\n[[element]\n";
        let p = label_preview(broken.into(), Vec::new());
        assert_eq!(p.errors[0].line, Some(2), "{:?}", p.errors);
        assert!(label_preview(hallmark_label::DEFAULT_TEMPLATE.into(), Vec::new()).png_base64.is_some());
    }
}
