//! Product pictures for the sandbox catalog: small SVGs drawn here, so the sandbox needs no files
//! and no network.

/// The SVG picture called `name`, if there is one.
pub fn svg(name: &str) -> Option<String> {
    let (background, accent, label) = match name {
        "beans" => ("#6f4e37", "#c8a27a", "BEANS"),
        "filters" => ("#f3ead8", "#b89b72", "FILTERS"),
        "ink-black" => ("#2b2b2b", "#8a8a8a", "BLACK"),
        "ink-cyan" => ("#00a3d9", "#b3ecff", "CYAN"),
        "ink-magenta" => ("#d6007e", "#ffc2e6", "MAGENTA"),
        "ink-yellow" => ("#f5c400", "#fff2b3", "YELLOW"),
        "detergent" => ("#2f6fd6", "#cfe0ff", "DETERGENT"),
        _ => return None,
    };
    Some(format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 160 160" width="160" height="160">
<rect width="160" height="160" rx="18" fill="{background}"/>
<rect x="40" y="28" width="80" height="96" rx="10" fill="{accent}" opacity="0.85"/>
<circle cx="80" cy="70" r="22" fill="{background}" opacity="0.6"/>
<text x="80" y="146" font-family="sans-serif" font-size="15" font-weight="700" text-anchor="middle" fill="{accent}">{label}</text>
</svg>"##
    ))
}
