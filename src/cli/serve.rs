//! `kvscope serve PACKET`: a packet's recorded endpoints on loopback ([`crate::serve`]), one
//! port per target, LMCache first; and the same for the demo's bundled packet.

use std::path::PathBuf;
use std::sync::Arc;

use super::Failure;
use crate::packet::TargetEntry;
use crate::serve::{self, Server};
use crate::vocab::Role;

/// What `serve` needs.
pub struct ServeArgs {
    pub packet: PathBuf,
    pub port: u16,
    pub speed: f64,
    pub live_timestamps: bool,
}

/// Serves until a signal stops it; the first line of standard output names every URL.
pub fn serve(args: &ServeArgs) -> Result<crate::session::Stop, Failure> {
    let watchdog = super::packet::Watchdog::start(&args.packet);
    let e = super::packet::evidence(&args.packet)?;
    let shown = args.packet.display();
    let timeline = e.opened.timeline();
    super::packet::say_problems(&shown.to_string(), &e.problems(&timeline), &timeline);
    drop(watchdog);
    let targets = e.opened.manifest.targets.clone();
    drop(e);
    super::session::runtime()?.block_on(async {
        let (urls, _server) = start(
            timeline,
            targets,
            args.port,
            args.speed,
            args.live_timestamps,
        )
        .await
        .map_err(|why| Failure::bad(format!("{shown}: {why}")))?;
        let pairs: Vec<String> = urls
            .iter()
            .map(|(role, url)| format!("{} {url}", role.as_str()))
            .collect();
        super::write_stdout(&format!("kvscope serve: {}\n", pairs.join(" ")))?;
        until_signal().await
    })
}

/// Waits for a terminating signal.
pub async fn until_signal() -> Result<crate::session::Stop, Failure> {
    crate::session::until_signal()
        .await
        .map_err(|e| Failure::bad(e.to_string()))
}

/// Starts serving `opened` on consecutive ports from `port` (0: any free ones): each target's
/// role and base URL, LMCache targets first, then engines, each in manifest order.
pub async fn start(
    timeline: crate::packet::Timeline,
    targets: Vec<TargetEntry>,
    port: u16,
    speed: f64,
    live_timestamps: bool,
) -> Result<(Vec<(Role, String)>, Arc<Server>), String> {
    let mut targets = targets;
    targets.sort_by_key(|t| t.target.role == Role::Engine);
    if targets.is_empty() {
        return Err("the packet has no targets".into());
    }
    let server = Arc::new(Server::new(
        timeline,
        targets.clone(),
        speed,
        live_timestamps,
    )?);
    let listeners = serve::bind(port, targets.len()).await?;
    let mut urls = Vec::new();
    for (index, (listener, t)) in listeners.into_iter().zip(&targets).enumerate() {
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        urls.push((t.target.role, format!("http://{addr}")));
        tokio::spawn(serve::serve(listener, server.clone(), index));
    }
    Ok((urls, server))
}
