//! A browser for the dashboard's tests: a client that does not follow redirects and keeps its
//! cookies by hand, with the login form and CSRF token helpers.

use std::io::Write;
use std::process::{Command, Stdio};

use super::BIN;

/// Sets a dashboard password through `admin set-password` (the password on stdin).
pub fn set_password(data: &std::path::Path, person: &str, login: &str, password: &str) -> bool {
    let mut child = Command::new(BIN)
        .args(["--log-format", "text", "admin", "--data"])
        .arg(data)
        .args(super::database_args(data))
        .args(["set-password", "--person", person, "--login", login])
        .env("DOORSTEP_LOG", "off")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    child.wait().unwrap().success()
}

pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A browser: a client that does not follow redirects and keeps its cookies by hand.
pub struct Browser {
    pub base: String,
    pub http: reqwest::blocking::Client,
    pub cookies: std::collections::BTreeMap<String, String>,
}

pub struct Answer {
    pub status: u16,
    pub body: String,
    pub location: String,
    pub set_cookies: Vec<String>,
}

impl Browser {
    pub fn new(base: &str) -> Browser {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Browser {
            base: base.to_string(),
            http: reqwest::blocking::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Default::default(),
        }
    }

    pub fn keep(&mut self, resp: reqwest::blocking::Response) -> Answer {
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let set_cookies: Vec<String> = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        for c in &set_cookies {
            let kv = c.split(';').next().unwrap();
            let (k, v) = kv.split_once('=').unwrap();
            if v.is_empty() {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.into(), v.into());
            }
        }
        Answer {
            status,
            body: resp.text().unwrap(),
            location,
            set_cookies,
        }
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn get(&mut self, path: &str) -> Answer {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .unwrap();
        self.keep(r)
    }

    pub fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        let body = form
            .iter()
            .map(|(k, v)| format!("{k}={}", enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .unwrap();
        self.keep(r)
    }

    pub fn login(&mut self, login: &str, password: &str) -> Answer {
        let page = self.get("/login");
        let pre = hidden(&page.body, "pre");
        self.post(
            "/login",
            &[
                ("login", login),
                ("password", password),
                ("pre", &pre),
                ("next", "/"),
            ],
        )
    }

    /// The CSRF token of the session, from any page's logout form.
    pub fn csrf(&mut self, page: &str) -> String {
        hidden(&self.get(page).body, "csrf")
    }
}

pub fn hidden(html: &str, name: &str) -> String {
    let key = format!("name=\"{name}\" value=\"");
    let i = html
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + key.len();
    html[i..].split('"').next().unwrap().to_string()
}
