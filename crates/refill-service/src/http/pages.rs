//! The server-rendered pages of the sign-in flow: sign in (or sign up), consent, and errors.
//! Every value is HTML-escaped; every page forbids framing.

use crate::store::accounts::PendingGrant;
use crate::store::devices::{DeviceScope, ModelChoices};
use crate::store::screen::ButtonChoice;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

pub use refill_core::html::escape;

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f7f6;color:#1d2b2a;margin:0}\
main{max-width:380px;margin:48px auto;background:#fff;border:1px solid #dde5e3;border-radius:14px;padding:28px}\
h1{font-size:1.3rem;margin:0 0 6px}h2{font-size:1.05rem;margin:18px 0 4px}p{line-height:1.45}label{display:block;margin:14px 0 4px;font-weight:600}\
input,select{width:100%;box-sizing:border-box;padding:9px 10px;border:1px solid #c9d3d1;border-radius:8px;font:inherit}\
.actions{display:flex;gap:10px;margin-top:20px}button{font:inherit;padding:9px 16px;border-radius:8px;cursor:pointer;border:1px solid #0f8c7e}\
button.primary{background:#0f8c7e;color:#fff}button.secondary{background:#fff;color:#0f8c7e}\
.error{color:#b3261e;background:#fdecea;border-radius:8px;padding:8px 10px}ul{padding-left:20px}\
.brand{color:#0f8c7e;font-weight:700;margin-bottom:14px}details{margin-top:18px}\
fieldset{border:1px solid #dde5e3;border-radius:8px;padding:4px 12px 10px}legend{font-weight:600}\
label.choice{display:flex;gap:8px;align-items:center;font-weight:400;margin:8px 0}label.choice input{width:auto}";

/// The CSP source that lets a form's answer redirect to `redirect_uri`: its origin
/// (`http://127.0.0.1:49152`) or, for an app's own scheme, the scheme (`refill:`). `None` when
/// it has characters a CSP source can't carry (then only `'self'` is allowed, and the redirect
/// fails in browsers that check it rather than open a hole in the policy).
pub fn form_target(redirect_uri: &str) -> Option<String> {
    let (scheme, rest) = redirect_uri.split_once(':')?;
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c));
    if !scheme_ok {
        return None;
    }
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Some(format!("{scheme}:"));
    }
    let authority = rest
        .strip_prefix("//")?
        .split(['/', '?', '#'])
        .next()
        .filter(|a| !a.is_empty())?;
    authority
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        .then(|| format!("{scheme}://{authority}"))
}

/// A page. `redirect_uri`: where a form on it may end up (Chromium applies `form-action` to the
/// redirect that answers a form, so the app's redirect URI must be allowed as well as `'self'`).
fn page(status: StatusCode, title: &str, body: &str, redirect_uri: Option<&str>) -> Response {
    let target = redirect_uri.and_then(form_target).unwrap_or_default();
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' {target}; \
         frame-ancestors 'none'"
    );
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>\
         <div class=\"brand\">Refill</div>{body}</main></body></html>",
        escape(title)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        [(header::CONTENT_SECURITY_POLICY, csp)],
        html,
    )
        .into_response()
}

/// The authorization request, carried through the forms as hidden fields.
fn hidden_fields(grant: &PendingGrant) -> String {
    let fields = [
        ("client_id", Some(grant.client_id.as_str())),
        ("redirect_uri", Some(grant.redirect_uri.as_str())),
        ("response_type", Some("code")),
        ("scope", Some(grant.scope.as_str())),
        ("scope_data", grant.scope_data.as_deref()),
        ("state", grant.state.as_deref()),
        ("code_challenge", grant.code_challenge.as_deref()),
        (
            "code_challenge_method",
            grant.code_challenge_method.as_deref(),
        ),
    ];
    fields
        .iter()
        .filter_map(|(name, value)| {
            value.map(|v| {
                format!(
                    "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                    escape(v)
                )
            })
        })
        .collect()
}

/// The sign-in page, with a sign-up form: for anyone (`open`, a sandbox), or with an invitation
/// code.
pub fn sign_in(
    app_name: &str,
    grant: &PendingGrant,
    error: Option<(StatusCode, &str)>,
    open: bool,
) -> Response {
    let status = error.map_or(StatusCode::OK, |(status, _)| status);
    let error = error
        .map(|(_, e)| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    let hidden = hidden_fields(grant);
    let (summary, code_field) = if open {
        ("New here? Create an account", String::new())
    } else {
        (
            "Invited? Create your account",
            "<label for=\"new-invitation\">Invitation code</label>\
             <input id=\"new-invitation\" name=\"invitation\" autocomplete=\"off\" required>"
                .to_owned(),
        )
    };
    let sign_up_form = format!(
        "<details><summary>{summary}</summary>\
         <form method=\"post\" action=\"/ap/signup\">{hidden}\
         <label for=\"new-name\">Your name</label><input id=\"new-name\" name=\"name\" autocomplete=\"name\" required>\
         <label for=\"new-email\">Email</label><input id=\"new-email\" name=\"email\" type=\"email\" autocomplete=\"email\" required>\
         {code_field}\
         <label for=\"new-password\">Password (8 characters or more)</label>\
         <input id=\"new-password\" name=\"password\" type=\"password\" minlength=\"8\" autocomplete=\"new-password\" required>\
         <div class=\"actions\"><button class=\"primary\" type=\"submit\">Create account and continue</button></div>\
         </form></details>"
    );
    page(
        status,
        "Sign in to Refill",
        &format!(
            "<h1>Sign in</h1><p><strong>{}</strong> wants you to sign in with your Refill account.</p>{error}\
             <form method=\"post\" action=\"/ap/signin\">{hidden}\
             <label for=\"email\">Email</label><input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required autofocus>\
             <label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
             <div class=\"actions\"><button class=\"primary\" type=\"submit\">Sign in</button>\
             <button class=\"secondary\" type=\"submit\" formaction=\"/ap/cancel\" formnovalidate>Cancel</button></div>\
             </form>{sign_up_form}",
            escape(app_name)
        ),
        Some(&grant.redirect_uri),
    )
}

/// What a scope lets the app do, in words.
fn describe_scope(scope: &str) -> &str {
    match scope {
        "profile" => "See your name and email address",
        "profile:user_id" => "See your Refill account id",
        "dash:replenish" => "Reorder supplies for your devices when they run low",
        "refill:customer" => "Place orders and see your orders, devices and notifications",
        "refill:buttons" => "Show buttons for the products you choose, and order them when pressed",
        other => other,
    }
}

/// The consent page; for a device's registration, with a product to choose for each slot, or
/// for a screened device (`buttons`), the products its buttons may show.
/// `failures`: wrong passwords tried for the account since the customer last signed in.
pub fn consent(
    (app_name, customer_name): (&str, &str),
    grant: &PendingGrant,
    (device, buttons): (
        Option<&(DeviceScope, ModelChoices)>,
        Option<&[ButtonChoice]>,
    ),
    ticket: &str,
    failures: u32,
) -> Response {
    let warning = match failures {
        0 => String::new(),
        1 => "<p class=\"error\" role=\"alert\">A wrong password was tried for your account \
              since you last signed in. If that was not you, choose a new password.</p>"
            .to_owned(),
        n => format!(
            "<p class=\"error\" role=\"alert\">{n} wrong passwords were tried for your account \
             since you last signed in, and sign-in was paused for a while. If that was not you, \
             choose a new password.</p>"
        ),
    };
    let scopes: String = grant
        .scope
        .split_whitespace()
        .map(|s| format!("<li>{}</li>", escape(describe_scope(s))))
        .collect();
    let device = device
        .map(|(device, model)| {
            if let Some(buttons) = buttons {
                return screen_choices(device, model, buttons);
            }
            let slots: String = model
                .slots
                .iter()
                .map(|slot| {
                    let options: String = slot
                        .products
                        .iter()
                        .map(|(asin, title)| {
                            format!(
                                "<option value=\"{}\">{}</option>",
                                escape(asin),
                                escape(title)
                            )
                        })
                        .collect();
                    format!(
                        "<label for=\"slot-{id}\">{name}</label>\
                         <select id=\"slot-{id}\" name=\"slot.{id}\">{options}</select>",
                        id = escape(&slot.slot_id),
                        name = escape(&slot.name),
                    )
                })
                .collect();
            format!(
                "<h2>Link your {model}</h2><p>Serial {serial}{test}. Choose what to reorder for it:</p>{slots}",
                model = escape(&model.name),
                serial = escape(&device.serial),
                test = if device.is_test {
                    " (a test device: its orders are test orders)"
                } else {
                    ""
                },
            )
        })
        .unwrap_or_default();
    page(
        StatusCode::OK,
        "Allow access",
        &format!(
            "{warning}<h1>Allow {app}?</h1><p>Signed in as {who}. <strong>{app}</strong> asks to:</p><ul>{scopes}</ul>\
             <form method=\"post\" action=\"/ap/consent\"><input type=\"hidden\" name=\"ticket\" value=\"{ticket}\">{device}\
             <div class=\"actions\"><button class=\"primary\" type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\
             <button class=\"secondary\" type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></div></form>",
            app = escape(app_name),
            who = escape(customer_name),
            ticket = escape(ticket),
        ),
        Some(&grant.redirect_uri),
    )
}

/// The part of the consent page that links a screened device: a checkbox per product (the
/// customer's recent items first, and chosen to start with).
fn screen_choices(device: &DeviceScope, model: &ModelChoices, buttons: &[ButtonChoice]) -> String {
    // The recent items come first: the first of them, up to the most a screen shows, are
    // chosen to start with.
    let boxes: String = buttons
        .iter()
        .enumerate()
        .map(|(i, choice)| {
            let checked = choice.recent && i < crate::store::screen::MAX_BUTTONS;
            format!(
                "<label class=\"choice\"><input type=\"checkbox\" name=\"button.{asin}\" \
                 value=\"on\"{checked}> {title}{recent}</label>",
                asin = escape(&choice.asin),
                title = escape(&choice.title),
                checked = if checked { " checked" } else { "" },
                recent = if choice.recent {
                    " <small>(ordered recently)</small>"
                } else {
                    ""
                },
            )
        })
        .collect();
    format!(
        "<h2>Link your {model}</h2><p>Serial {serial}{test}. Choose the products its screen may \
         show as buttons (at most {max}); a press there orders one pack:</p>\
         <fieldset><legend>Buttons on its screen</legend>{boxes}</fieldset>",
        model = escape(&model.name),
        serial = escape(&device.serial),
        test = if device.is_test {
            " (a test device: its orders are test orders)"
        } else {
            ""
        },
        max = crate::store::screen::MAX_BUTTONS,
    )
}

/// A page for a request that can't be sent back to the app (unknown client or redirect URI, an
/// expired page).
pub fn error(status: StatusCode, title: &str, message: &str) -> Response {
    page(
        status,
        title,
        &format!("<h1>{}</h1><p>{}</p>", escape(title), escape(message)),
        None,
    )
}

#[cfg(test)]
mod tests {
    /// The finding: a customer with more recent items than a screen shows had them all chosen,
    /// and Allow was refused ("at most 12").
    #[test]
    fn a_screen_starts_with_at_most_as_many_recent_items_chosen_as_it_shows() {
        use crate::store::screen::{ButtonChoice, MAX_BUTTONS};
        let device = crate::store::devices::DeviceScope::parse(
            r#"{"refill:buttons":{"device_model":"RefillFridge-1","serial":"F-1"}}"#,
        )
        .unwrap();
        let model = crate::store::devices::ModelChoices {
            name: "Fridge".to_owned(),
            slots: Vec::new(),
        };
        let choices: Vec<ButtonChoice> = (0..MAX_BUTTONS + 3)
            .map(|i| ButtonChoice {
                asin: format!("B0TEST{i:04}"),
                title: format!("Item {i}"),
                recent: i < MAX_BUTTONS + 2,
            })
            .collect();
        let html = super::screen_choices(&device, &model, &choices);
        assert_eq!(html.matches(" checked>").count(), MAX_BUTTONS);
        assert!(html.contains(r#"name="button.B0TEST0000" value="on" checked>"#));
        assert!(html.contains(&format!(
            r#"name="button.B0TEST{:04}" value="on">"#,
            MAX_BUTTONS
        )));
    }

    #[test]
    fn forms_may_end_up_at_the_apps_redirect_origin_and_nowhere_else() {
        use super::form_target;
        assert_eq!(
            form_target("http://127.0.0.1:49152/callback?x=1").as_deref(),
            Some("http://127.0.0.1:49152")
        );
        assert_eq!(
            form_target("http://[::1]:8/cb").as_deref(),
            Some("http://[::1]:8")
        );
        assert_eq!(
            form_target("https://brew.example/linked").as_deref(),
            Some("https://brew.example")
        );
        assert_eq!(form_target("refill://auth").as_deref(), Some("refill:"));
        // Nothing that could end the directive or add a source.
        assert_eq!(form_target("https://a.example;script-src *"), None);
        assert_eq!(form_target("https://a.example b.example/"), None);
        assert_eq!(form_target("https:///nohost"), None);
        assert_eq!(form_target("1bad://x"), None);
        assert_eq!(form_target("no-colon"), None);
    }

    #[test]
    fn escaping_covers_html_and_attributes() {
        assert_eq!(
            super::escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
