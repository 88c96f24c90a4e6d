//! Test helpers shared by Refill's crates (a dev-dependency only).
//!
//! [`Browser`] plays the person at the browser during a sign-in: it loads the authorization URL,
//! submits the real sign-in (or sign-up) and consent forms of the page it gets, and returns where
//! the service sends the browser back to, without following it.

use std::collections::HashMap;

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The hidden inputs of the form whose action is `action`, or of the first form when `None`.
pub fn hidden_fields(html: &str, action: Option<&str>) -> Vec<(String, String)> {
    inputs(html, action, |tag| tag.contains("type=\"hidden\""))
}

/// What a browser submits of the form whose action is `action` as the page left it: its hidden
/// inputs and its checked checkboxes.
pub fn form_fields(html: &str, action: Option<&str>) -> Vec<(String, String)> {
    inputs(html, action, |tag| {
        tag.contains("type=\"hidden\"")
            || (tag.contains("type=\"checkbox\"") && tag.contains(" checked"))
    })
}

/// The name and value of each input of the form whose action is `action` whose tag `wanted`.
fn inputs(
    html: &str,
    action: Option<&str>,
    wanted: impl Fn(&str) -> bool,
) -> Vec<(String, String)> {
    let start = action
        .and_then(|a| html.find(&format!("action=\"{a}\"")))
        .unwrap_or(0);
    let form = &html[start..];
    let form = &form[..form.find("</form>").unwrap_or(form.len())];
    form.split("<input")
        .skip(1)
        .filter_map(|chunk| {
            let tag = &chunk[..chunk.find('>').unwrap_or(chunk.len())];
            if !wanted(tag) {
                return None;
            }
            let attr = |name: &str| {
                let key = format!("{name}=\"");
                tag.find(&key).map(|i| {
                    let rest = &tag[i + key.len()..];
                    unescape(&rest[..rest.find('"').unwrap_or(rest.len())])
                })
            };
            Some((attr("name")?, attr("value")?))
        })
        .collect()
}

/// The query parameters of `url`.
pub fn query_of(url: &str) -> HashMap<String, String> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    serde_urlencoded::from_str(query).unwrap_or_default()
}

/// Who signs in, and how.
#[derive(Debug, Clone)]
pub enum Person<'a> {
    /// An existing account.
    Existing {
        /// Email.
        email: &'a str,
        /// Password.
        password: &'a str,
    },
    /// A new account, created on the sign-in page.
    New {
        /// Name.
        name: &'a str,
        /// Email.
        email: &'a str,
        /// Password.
        password: &'a str,
    },
}

/// A browser that does not follow redirects, so the test sees where it is sent.
#[derive(Debug, Clone)]
pub struct Browser {
    http: reqwest::Client,
}

impl Default for Browser {
    fn default() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
        }
    }
}

impl Browser {
    /// A browser that accepts what `trust` trusts: a home server's own certificate, as a person
    /// who compared its fingerprint accepts it at the browser's warning.
    pub fn trusting(trust: &refill_tls::Trust) -> Self {
        Self {
            http: trust
                .client_builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
        }
    }

    /// Loads `authorize_url`, signs `person` in, answers the consent page with `decision`
    /// (`allow` or `deny`), and returns the URL the browser is sent back to.
    pub async fn sign_in(
        &self,
        authorize_url: &str,
        person: &Person<'_>,
        decision: &str,
    ) -> Result<String, String> {
        let origin = authorize_url
            .split("/ap/oa")
            .next()
            .ok_or("not an /ap/oa URL")?
            .to_owned();
        let page = self.text(self.http.get(authorize_url)).await?;
        let (action, extra): (&str, Vec<(&str, &str)>) = match person {
            Person::Existing { email, password } => {
                ("/ap/signin", vec![("email", email), ("password", password)])
            }
            Person::New {
                name,
                email,
                password,
            } => (
                "/ap/signup",
                vec![("name", name), ("email", email), ("password", password)],
            ),
        };
        let mut fields = hidden_fields(&page, Some(action));
        fields.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let answer = self
            .http
            .post(format!("{origin}{action}"))
            .form(&fields)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        // The cookie the service ties the consent ticket to, sent back with the consent form as
        // a browser would.
        let cookie = answer
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .collect::<Vec<_>>()
            .join("; ");
        let consent = answer.text().await.map_err(|e| e.to_string())?;
        if !consent.contains("action=\"/ap/consent\"") {
            return Err(format!("no consent page after signing in: {consent}"));
        }
        let mut fields = form_fields(&consent, Some("/ap/consent"));
        fields.push(("decision".to_owned(), decision.to_owned()));
        let done = self
            .http
            .post(format!("{origin}/ap/consent"))
            .header("cookie", cookie)
            .form(&fields)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        done.headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| format!("the consent answer did not redirect ({})", done.status()))
    }

    /// Follows `url` (such as the app's loopback callback) and returns the page.
    pub async fn visit(&self, url: &str) -> Result<String, String> {
        self.text(self.http.get(url)).await
    }

    async fn text(&self, request: reqwest::RequestBuilder) -> Result<String, String> {
        request
            .send()
            .await
            .map_err(|e| e.to_string())?
            .text()
            .await
            .map_err(|e| e.to_string())
    }
}

/// An OAuth client to sign in through: its id, and its secret when it is confidential.
#[derive(Debug, Clone, Copy)]
pub struct OAuthClient<'a> {
    /// `client_id`.
    pub id: &'a str,
    /// `client_secret`, for a confidential client.
    pub secret: Option<&'a str>,
    /// A redirect URI registered for it.
    pub redirect_uri: &'a str,
}

/// The PKCE verifier [`tokens`] uses.
pub const VERIFIER: &str = "device-verifier-0123456789-0123456789-0123456789";

/// The authorization request (`/ap/oa`) of the service at `base_url` for `client`, `scope` and
/// `scope_data`, with the PKCE challenge (S256) of [`VERIFIER`].
pub fn authorize_url(
    base_url: &str,
    client: OAuthClient<'_>,
    scope: &str,
    scope_data: Option<&str>,
) -> String {
    authorize_url_with(base_url, client, (scope, scope_data), VERIFIER)
}

/// The S256 PKCE challenge of `verifier`.
pub fn challenge_of(verifier: &str) -> String {
    refill_core::pkce::challenge_of(verifier)
}

/// [`authorize_url`] with the challenge of `verifier`.
pub fn authorize_url_with(
    base_url: &str,
    client: OAuthClient<'_>,
    (scope, scope_data): (&str, Option<&str>),
    verifier: &str,
) -> String {
    let challenge = challenge_of(verifier);
    let mut params = vec![
        ("client_id", client.id),
        ("scope", scope),
        ("response_type", "code"),
        ("redirect_uri", client.redirect_uri),
        ("code_challenge_method", "S256"),
        ("code_challenge", &challenge),
    ];
    if let Some(data) = scope_data {
        params.push(("scope_data", data));
    }
    let query = serde_urlencoded::to_string(params).unwrap_or_default();
    format!("{base_url}/ap/oa?{query}")
}

/// Runs the whole authorization code flow with PKCE against the service at `base_url`: the
/// authorization request for `scope` (and `scope_data`), `person` signs in and allows it on the
/// real pages, and the code is redeemed. Returns the access and refresh tokens.
pub async fn tokens(
    base_url: &str,
    client: OAuthClient<'_>,
    scope: &str,
    scope_data: Option<&str>,
    person: &Person<'_>,
) -> Result<(String, String), String> {
    tokens_with(base_url, client, (scope, scope_data), person, VERIFIER).await
}

/// [`tokens`] with the PKCE verifier `verifier` (a device that makes a new one each time).
pub async fn tokens_with(
    base_url: &str,
    client: OAuthClient<'_>,
    (scope, scope_data): (&str, Option<&str>),
    person: &Person<'_>,
    verifier: &str,
) -> Result<(String, String), String> {
    let authorize = authorize_url_with(base_url, client, (scope, scope_data), verifier);
    let browser = Browser::default();
    let back = browser.sign_in(&authorize, person, "allow").await?;
    let code = query_of(&back)
        .remove("code")
        .ok_or_else(|| format!("no code in {back}"))?;
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("client_id", client.id),
        ("redirect_uri", client.redirect_uri),
        ("code_verifier", verifier),
    ];
    form.extend(client.secret.map(|s| ("client_secret", s)));
    let answer: serde_json::Value = browser
        .http
        .post(format!("{base_url}/auth/o2/token"))
        .form(&form)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let token = |key: &str| {
        answer[key]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("no {key} in {answer}"))
    };
    Ok((token("access_token")?, token("refresh_token")?))
}

/// Two network namespaces joined by a veth pair, each with its own address on a small subnet
/// and a multicast route over the pair: a private local network for tests of what goes over
/// one (mDNS announcements and queries), from which nothing leaves this machine. Removed when
/// dropped. Making it needs root (CAP_NET_ADMIN) and iproute2's `ip`.
#[derive(Debug)]
pub struct NetworkPair {
    /// The namespace where the service runs.
    pub service: String,
    /// The namespace where the app (or another client) runs.
    pub app: String,
    /// The service side's address.
    pub service_ip: String,
    /// The app side's address.
    pub app_ip: String,
}

impl NetworkPair {
    /// A new pair named after `tag` and this process.
    pub fn new(tag: &str) -> Result<Self, String> {
        let id = std::process::id();
        let subnet = format!("10.77.{}", id % 250);
        let pair = Self {
            service: format!("refill-{tag}-{id}-s"),
            app: format!("refill-{tag}-{id}-a"),
            service_ip: format!("{subnet}.1"),
            app_ip: format!("{subnet}.2"),
        };
        let (veth_s, veth_a) = (
            format!("rf{}s", id % 100_000),
            format!("rf{}a", id % 100_000),
        );
        let mut steps: Vec<Vec<String>> = vec![
            vec!["netns".into(), "add".into(), pair.service.clone()],
            vec!["netns".into(), "add".into(), pair.app.clone()],
            [
                "link",
                "add",
                &veth_s,
                "netns",
                &pair.service,
                "type",
                "veth",
                "peer",
                "name",
                &veth_a,
                "netns",
                &pair.app,
            ]
            .map(str::to_owned)
            .to_vec(),
        ];
        for (ns, veth, ip) in [
            (&pair.service, &veth_s, &pair.service_ip),
            (&pair.app, &veth_a, &pair.app_ip),
        ] {
            for step in [
                vec!["-n", ns, "link", "set", "lo", "up"],
                vec!["-n", ns, "addr", "add", &format!("{ip}/24"), "dev", veth],
                vec!["-n", ns, "link", "set", veth, "up", "multicast", "on"],
                vec!["-n", ns, "route", "add", "224.0.0.0/4", "dev", veth],
            ] {
                steps.push(step.into_iter().map(str::to_owned).collect());
            }
        }
        for step in steps {
            let out = std::process::Command::new("ip")
                .args(&step)
                .output()
                .map_err(|e| format!("ip could not be run: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "ip {} failed (this needs root): {}",
                    step.join(" "),
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
        }
        Ok(pair)
    }

    /// `program` run in the namespace `ns` (one of [`NetworkPair::service`] and
    /// [`NetworkPair::app`]).
    pub fn command(&self, ns: &str, program: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
        let mut command = std::process::Command::new("ip");
        command.args(["netns", "exec", ns]).arg(program);
        command
    }
}

impl Drop for NetworkPair {
    fn drop(&mut self) {
        // Deleting a namespace deletes its end of the pair, and with it the other end.
        for ns in [&self.service, &self.app] {
            let _ = std::process::Command::new("ip")
                .args(["netns", "del", ns])
                .output();
        }
    }
}

/// Stops `child` as systemd stops a service (SIGTERM) and checks that it exited cleanly (0).
pub fn terminate(child: &mut std::process::Child) {
    let pid = child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .is_ok_and(|s| s.success());
    assert!(sent, "SIGTERM could not be sent to {pid}");
    let status = child.wait().expect("the child could not be waited for");
    assert!(status.success(), "stopped with {status}");
}
