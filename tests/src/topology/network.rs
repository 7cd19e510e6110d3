//! Where a topology's processes run and how they reach each other: all on the
//! test's loopback; all in one network namespace behind an address the test
//! reaches (as an application behind NAT would); or split between namespaces
//! joined by a router, so that the master can be cut off from the rest.
//! Namespaces need root and `ip` (iproute2), as CI has.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// How a topology's nodes are networked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Network {
    /// Every node on 127.0.0.1, as the test is.
    Loopback,
    /// Every node in one namespace, seeing the others at 127.0.0.1 (which is what
    /// the sentinels report); the test reaches them at the namespace's address,
    /// so it needs `REDIS_ADDRESS_MAP`.
    BehindNat,
    /// The first master in a namespace of its own, the replicas and sentinels in
    /// another, and the test outside both, all joined by a router namespace that
    /// forwards between them. Everyone reaches everyone at one address per side
    /// until [`Layout::partition`] cuts the master's side off.
    Split,
}

/// Which side of a partition the test (the application) is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppSide {
    /// Still reaching the old master (and the majority): only the master's link to
    /// the replicas and sentinels is cut.
    WithOldMaster,
    /// Cut off from the old master as the replicas and sentinels are.
    WithMajority,
}

/// The place of one node: the namespace it runs in, the addresses it binds, the
/// address the other nodes reach it at, and the one the test reaches it at.
pub struct Site {
    pub namespace: Option<String>,
    pub bind: String,
    pub peer_host: String,
    pub test_host: String,
}

pub const LOOPBACK: &str = "127.0.0.1";

/// A network made for one topology; its namespaces are deleted on drop.
pub enum Layout {
    Loopback,
    BehindNat(Namespace),
    Split(Split),
}

/// Each layout takes its own number so that the names of namespaces and links of
/// topologies alive at once differ (a process makes at most 250 of each).
fn next_number() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    NEXT.fetch_add(1, Ordering::SeqCst) % 250
}

impl Layout {
    pub fn create(network: Network) -> Self {
        match network {
            Network::Loopback => Layout::Loopback,
            Network::BehindNat => Layout::BehindNat(Namespace::behind_nat(next_number())),
            Network::Split => Layout::Split(Split::create(next_number())),
        }
    }

    /// Whether the nodes' ports are in namespaces, not on the test's host.
    pub fn namespaced(&self) -> bool {
        !matches!(self, Layout::Loopback)
    }

    /// The site of data node `index` (0: the first master).
    pub fn data_site(&self, index: usize) -> Site {
        match self {
            Layout::Loopback => loopback_site(),
            Layout::BehindNat(namespace) => namespace.nat_site(),
            Layout::Split(split) if index == 0 => split.site(&split.old, &split.old_host),
            Layout::Split(split) => split.site(&split.majority, &split.majority_host),
        }
    }

    pub fn sentinel_site(&self) -> Site {
        // Sentinels sit with the replicas: on the majority side of a split.
        self.data_site(1)
    }

    /// Cuts the first master off from the replicas and sentinels (and from the
    /// test, with [`AppSide::WithMajority`]): packets between them are dropped
    /// silently, as a failed switch would, not refused.
    pub fn partition(&self, app: AppSide) {
        self.split().partition(app);
    }

    /// Undoes [`Layout::partition`].
    pub fn heal(&self) {
        self.split().heal();
    }

    fn split(&self) -> &Split {
        match self {
            Layout::Split(split) => split,
            _ => panic!("only a Network::Split topology can be partitioned"),
        }
    }
}

fn loopback_site() -> Site {
    Site {
        namespace: None,
        bind: format!("bind {LOOPBACK}\n"),
        peer_host: LOOPBACK.to_owned(),
        test_host: LOOPBACK.to_owned(),
    }
}

/// A network namespace with its loopback up; deleted on drop.
pub struct Namespace {
    name: String,
    /// With [`Network::BehindNat`]: the namespace's address seen from the test.
    host: String,
}

impl Namespace {
    fn create(name: String) -> Self {
        // A namespace left by a killed run goes first.
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        ip(&["netns", "add", &name]);
        ip(&["-n", &name, "link", "set", "lo", "up"]);
        Self {
            name,
            host: String::new(),
        }
    }

    /// One namespace joined to the test's by a veth pair, at 10.213.n.2.
    fn behind_nat(n: u32) -> Self {
        let mut namespace = Self::create(format!("rtopo{n}"));
        let name = namespace.name.clone();
        veth(
            None,
            &format!("rtoh{n}"),
            &format!("10.213.{n}.1/30"),
            &name,
            &format!("rton{n}"),
            &format!("10.213.{n}.2/30"),
        );
        namespace.host = format!("10.213.{n}.2");
        namespace
    }

    fn nat_site(&self) -> Site {
        Site {
            namespace: Some(self.name.clone()),
            bind: format!("bind {LOOPBACK} {}\n", self.host),
            peer_host: LOOPBACK.to_owned(),
            test_host: self.host.clone(),
        }
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// Three namespaces and the test's host, on 10.214.n.0/28: the host at .1 and the
/// router at .2; the router at .5 and the old master's side at .6; the router at
/// .9 and the majority's side at .10. The router forwards between the three links,
/// and partitions are policy rules in it that drop what crosses between sides.
pub struct Split {
    n: u32,
    router: Namespace,
    old: Namespace,
    majority: Namespace,
    old_host: String,
    majority_host: String,
}

impl Split {
    fn create(n: u32) -> Self {
        let router = Namespace::create(format!("rsplit{n}r"));
        let old = Namespace::create(format!("rsplit{n}o"));
        let majority = Namespace::create(format!("rsplit{n}m"));
        let net = |last: u8| format!("10.214.{n}.{last}");
        veth(
            None,
            &format!("rsp{n}h"),
            &format!("{}/30", net(1)),
            &router.name,
            &format!("rsp{n}hr"),
            &format!("{}/30", net(2)),
        );
        veth(
            Some(&router.name),
            &format!("rsp{n}or"),
            &format!("{}/30", net(5)),
            &old.name,
            &format!("rsp{n}o"),
            &format!("{}/30", net(6)),
        );
        veth(
            Some(&router.name),
            &format!("rsp{n}mr"),
            &format!("{}/30", net(9)),
            &majority.name,
            &format!("rsp{n}m"),
            &format!("{}/30", net(10)),
        );
        ip(&["-n", &old.name, "route", "add", "default", "via", &net(5)]);
        ip(&[
            "-n",
            &majority.name,
            "route",
            "add",
            "default",
            "via",
            &net(9),
        ]);
        ip(&[
            "route",
            "replace",
            &format!("{}/30", net(4)),
            "via",
            &net(2),
        ]);
        ip(&[
            "route",
            "replace",
            &format!("{}/30", net(8)),
            "via",
            &net(2),
        ]);
        run_checked(
            "ip",
            &[
                "netns",
                "exec",
                &router.name,
                "sysctl",
                "-qw",
                "net.ipv4.ip_forward=1",
            ],
            "the router namespace forwards",
        );
        Self {
            n,
            old_host: net(6),
            majority_host: net(10),
            router,
            old,
            majority,
        }
    }

    fn site(&self, namespace: &Namespace, host: &str) -> Site {
        Site {
            namespace: Some(namespace.name.clone()),
            bind: format!("bind {LOOPBACK} {host}\n"),
            peer_host: host.to_owned(),
            test_host: host.to_owned(),
        }
    }

    /// The (from, to) pairs whose packets the router drops in a partition.
    fn cuts(&self, app: AppSide) -> Vec<(String, String)> {
        let (old, majority) = (self.old_host.clone(), format!("10.214.{}.8/30", self.n));
        let mut cuts = vec![(old.clone(), majority.clone()), (majority, old.clone())];
        if app == AppSide::WithMajority {
            let test = format!("10.214.{}.0/30", self.n);
            cuts.push((old.clone(), test.clone()));
            cuts.push((test, old));
        }
        cuts
    }

    fn partition(&self, app: AppSide) {
        for (from, to) in self.cuts(app) {
            ip(&[
                "-n",
                &self.router.name,
                "rule",
                "add",
                "from",
                &from,
                "to",
                &to,
                "blackhole",
            ]);
        }
    }

    fn heal(&self) {
        for app in [AppSide::WithOldMaster, AppSide::WithMajority] {
            for (from, to) in self.cuts(app) {
                // Each rule may be there once, or not at all.
                let _ = Command::new("ip")
                    .args([
                        "-n",
                        &self.router.name,
                        "rule",
                        "del",
                        "from",
                        &from,
                        "to",
                        &to,
                        "blackhole",
                    ])
                    .output();
            }
        }
    }
}

/// A veth pair: `outside` in namespace `at` (the test's with `None`) with address
/// `outside_addr`, `inside` in namespace `into` with `inside_addr`, both up.
fn veth(
    at: Option<&str>,
    outside: &str,
    outside_addr: &str,
    into: &str,
    inside: &str,
    inside_addr: &str,
) {
    let in_at = |args: &[&str]| match at {
        Some(namespace) => ip(&[&["-n", namespace], args].concat()),
        None => ip(args),
    };
    if at.is_none() {
        // A pair left by a killed run goes first (its namespace may still be going).
        let _ = Command::new("ip").args(["link", "del", outside]).output();
    }
    in_at(&[
        "link", "add", outside, "type", "veth", "peer", "name", inside, "netns", into,
    ]);
    in_at(&["addr", "add", outside_addr, "dev", outside]);
    in_at(&["link", "set", outside, "up"]);
    ip(&["-n", into, "addr", "add", inside_addr, "dev", inside]);
    ip(&["-n", into, "link", "set", inside, "up"]);
}

fn ip(args: &[&str]) {
    run_checked("ip", args, "network namespaces need root and iproute2");
}

/// Runs a set-up command and panics with its stderr and `hint` if it fails.
pub(super) fn run_checked(program: &str, args: &[&str], hint: &str) {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} ({hint}): {e}"));
    assert!(
        output.status.success(),
        "{program} {}: {} ({hint})",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}
