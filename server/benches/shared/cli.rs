//! The release server's command line as the benches drive it: a kept data directory copied so
//! that a run changes nothing kept, `admin ... --json`, and `serve` on 127.0.0.1.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use doorstep_server::demo::spawn_serve;

/// The value after `name` on the bench's command line (`cargo bench ... -- --name value`).
pub fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// Where built streets and grids are kept: `target/street-fixtures/`, beside the server binary
/// `bin` (`target/release/doorstep-server`).
pub fn fixtures_dir(bin: &Path) -> PathBuf {
    bin.parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join("street-fixtures")
}

/// Copies a kept data directory to `to` (replacing what was there).
pub fn copy_data(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    let ok = Command::new("cp")
        .arg("-r")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(ok.success(), "cp -r {} {}", from.display(), to.display());
}

/// `doorstep-server admin --data DATA --json ARGS...`, its answer parsed.
pub fn admin(bin: &Path, data: &Path, args: &[&str]) -> serde_json::Value {
    let out = Command::new(bin)
        .args(["admin", "--data"])
        .arg(data)
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `doorstep-server serve --data DATA` on a free port of 127.0.0.1: the process and its URL.
pub fn serve(bin: &Path, data: &Path) -> (Child, String) {
    spawn_serve(
        Command::new(bin)
            .args(["--log-format", "text", "serve", "--data"])
            .arg(data)
            .args(["--listen", "127.0.0.1:0"])
            .env("DOORSTEP_LOG", "warn"),
    )
    .expect("serve")
}
