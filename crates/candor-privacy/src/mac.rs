//! MAC addresses: one canonical form, and a deterministic choice of which one names a machine.
//!
//! A machine has many adapters, and some are not the machine's own: every VirtualBox host-only
//! adapter on earth shares a vendor prefix, Docker's bridges use locally administered addresses,
//! and a loopback adapter has none. Hashing one of those would give thousands of machines the
//! same id. So the choice skips them, prefers adapters backed by hardware, and breaks ties by
//! name, so the same machine always picks the same adapter.

use std::fmt;

/// A MAC address (EUI-48).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MacAddress([u8; 6]);

/// Vendor prefixes (OUIs) of virtual adapters: hypervisors hand these out to guests and host-only
/// networks, so they identify a product, not a machine.
const VIRTUAL_OUIS: &[[u8; 3]] = &[
    [0x00, 0x05, 0x69], // VMware
    [0x00, 0x0c, 0x29], // VMware
    [0x00, 0x1c, 0x14], // VMware
    [0x00, 0x50, 0x56], // VMware
    [0x08, 0x00, 0x27], // VirtualBox
    [0x0a, 0x00, 0x27], // VirtualBox host-only
    [0x00, 0x15, 0x5d], // Hyper-V
    [0x00, 0x1c, 0x42], // Parallels
    [0x00, 0x16, 0x3e], // Xen
    [0x52, 0x54, 0x00], // QEMU/KVM
];

/// Interface-name prefixes of software adapters (Linux naming).
const VIRTUAL_NAME_PREFIXES: &[&str] = &[
    "lo", "docker", "veth", "br-", "virbr", "vmnet", "vboxnet", "tun", "tap", "wg", "zt", "cni",
    "flannel", "cali", "vxlan", "kube", "dummy", "bond",
];

impl MacAddress {
    /// Parses `aa:bb:cc:dd:ee:ff`, `AA-BB-CC-DD-EE-FF`, `aabb.ccdd.eeff` or `aabbccddeeff`.
    pub fn parse(text: &str) -> Option<Self> {
        let digits: Vec<u8> = text
            .trim()
            .bytes()
            .filter(|b| !matches!(b, b':' | b'-' | b'.'))
            .collect();
        let separators = text.trim().len() - digits.len();
        if digits.len() != 12 || !matches!(separators, 0 | 2 | 5) {
            return None;
        }
        let mut bytes = [0u8; 6];
        for (i, pair) in digits.chunks(2).enumerate() {
            let pair = std::str::from_utf8(pair).ok()?;
            bytes[i] = u8::from_str_radix(pair, 16).ok()?;
        }
        Some(Self(bytes))
    }

    /// The raw bytes.
    pub fn octets(self) -> [u8; 6] {
        self.0
    }

    /// Why this address cannot identify a machine, if it cannot.
    pub fn unsuitable_because(self) -> Option<&'static str> {
        let [first, ..] = self.0;
        if self.0 == [0; 6] {
            Some("all zero")
        } else if self.0 == [0xff; 6] {
            Some("broadcast")
        } else if first & 0x01 != 0 {
            Some("multicast")
        } else if first & 0x02 != 0 {
            Some("locally administered (assigned by software)")
        } else if VIRTUAL_OUIS.iter().any(|oui| self.0[..3] == oui[..]) {
            Some("a virtual adapter's vendor prefix")
        } else {
            None
        }
    }
}

/// The canonical form, hashed by Candor: lower case, colon-separated.
impl fmt::Display for MacAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// A network adapter as the system describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adapter {
    /// The interface name (`eth0`, `enp3s0`).
    pub name: String,
    /// Its address, as the system reports it.
    pub address: String,
    /// True for loopback adapters.
    pub is_loopback: bool,
    /// True when a hardware device backs the adapter (on Linux: `/sys/class/net/<if>/device`
    /// exists).
    pub has_device: bool,
}

/// The adapter chosen to identify the machine, or why none could be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MacChoice {
    /// This adapter's address.
    Chosen {
        /// The adapter's name.
        adapter: String,
        /// Its address, parsed.
        address: MacAddress,
    },
    /// No adapter qualifies; each was skipped for the reason given.
    Unavailable {
        /// `(adapter, reason)` for every adapter considered.
        skipped: Vec<(String, String)>,
    },
}

/// Chooses the adapter whose MAC address identifies this machine: the first, by name, of the
/// hardware-backed adapters with a globally administered, non-virtual address; failing that, the
/// first such software adapter. Loopback adapters and virtual names are never chosen.
pub fn choose_mac(adapters: &[Adapter]) -> MacChoice {
    let mut skipped = Vec::new();
    let mut candidates: Vec<(bool, &str, MacAddress)> = Vec::new();
    for adapter in adapters {
        let skip = |reason: &str| (adapter.name.clone(), reason.to_owned());
        if adapter.is_loopback {
            skipped.push(skip("loopback"));
            continue;
        }
        if let Some(prefix) = VIRTUAL_NAME_PREFIXES
            .iter()
            .find(|p| adapter.name.starts_with(*p))
        {
            skipped.push(skip(&format!("a software adapter (`{prefix}…`)")));
            continue;
        }
        let Some(address) = MacAddress::parse(&adapter.address) else {
            skipped.push(skip("no readable MAC address"));
            continue;
        };
        if let Some(reason) = address.unsuitable_because() {
            skipped.push(skip(reason));
            continue;
        }
        // Hardware first (false sorts before true), then by name: deterministic.
        candidates.push((!adapter.has_device, adapter.name.as_str(), address));
    }
    candidates.sort();
    match candidates.first() {
        Some((_, name, address)) => MacChoice::Chosen {
            adapter: (*name).to_owned(),
            address: *address,
        },
        None => MacChoice::Unavailable { skipped },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adapter(name: &str, address: &str, has_device: bool) -> Adapter {
        Adapter {
            name: name.into(),
            address: address.into(),
            is_loopback: name == "lo",
            has_device,
        }
    }

    #[test]
    fn every_written_form_normalises_to_one() {
        let canonical = "3c:52:82:1a:2b:3c";
        for form in [
            "3C:52:82:1A:2B:3C",
            "3c-52-82-1a-2b-3c",
            "3c52.821a.2b3c",
            "3C52821A2B3C",
            " 3c:52:82:1a:2b:3c ",
        ] {
            assert_eq!(
                MacAddress::parse(form).expect(form).to_string(),
                canonical,
                "{form}"
            );
        }
        for bad in [
            "",
            "3c:52:82:1a:2b",
            "3c:52:82:1a:2b:3c:4d",
            "zz:52:82:1a:2b:3c",
            "3c:52-82:1a:2b3c",
        ] {
            assert!(MacAddress::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn unsuitable_addresses_are_named() {
        let reason = |a: &str| MacAddress::parse(a).expect("valid").unsuitable_because();
        assert_eq!(reason("00:00:00:00:00:00"), Some("all zero"));
        assert_eq!(
            reason("02:42:ac:11:00:02"),
            Some("locally administered (assigned by software)")
        );
        assert_eq!(
            reason("08:00:27:12:34:56"),
            Some("a virtual adapter's vendor prefix")
        );
        assert_eq!(reason("01:00:5e:00:00:01"), Some("multicast"));
        assert_eq!(reason("3c:52:82:1a:2b:3c"), None);
    }

    #[test]
    fn the_choice_prefers_hardware_and_is_deterministic() {
        let adapters = vec![
            adapter("lo", "00:00:00:00:00:00", false),
            adapter("docker0", "02:42:ac:11:00:01", false),
            adapter("wlp2s0", "3c:52:82:00:00:02", true),
            adapter("vboxnet0", "0a:00:27:00:00:00", false),
            adapter("enp3s0", "3c:52:82:00:00:01", true),
            adapter("usb0", "3c:52:82:00:00:09", false),
        ];
        let expected = MacChoice::Chosen {
            adapter: "enp3s0".into(),
            address: MacAddress::parse("3c:52:82:00:00:01").expect("valid"),
        };
        assert_eq!(choose_mac(&adapters), expected);
        let mut reversed = adapters.clone();
        reversed.reverse();
        assert_eq!(
            choose_mac(&reversed),
            expected,
            "order of discovery does not matter"
        );
    }

    #[test]
    fn a_hypervisor_adapter_alone_gives_no_id() {
        let choice = choose_mac(&[
            adapter("lo", "00:00:00:00:00:00", false),
            adapter("eth0", "08:00:27:aa:bb:cc", true),
        ]);
        let MacChoice::Unavailable { skipped } = choice else {
            panic!("a VirtualBox guest adapter must not identify the machine");
        };
        assert_eq!(skipped.len(), 2);
        assert_eq!(
            skipped[1],
            (
                "eth0".to_owned(),
                "a virtual adapter's vendor prefix".to_owned()
            )
        );
    }
}
