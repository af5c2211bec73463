//! No secret in the facade's `Debug` output: the hashing key, the relay token and an endpoint's
//! query string are redacted; and a CA given to the builder reaches the HTTPS sink.

use std::time::Duration;

use candor::{Environment, Input, SinkSpec, Telemetry};
use candor_testkit::HttpReceiver;

#[test]
fn the_builders_debug_output_holds_no_secret() {
    let builder = Telemetry::builder(candor::builtin("contrast-dotnet-agent").expect("built in"))
        .version("21.1.2")
        .hash_key(b"KEY-BYTES-SECRET".to_vec())
        .sink(SinkSpec::Relay {
            endpoint: "http://127.0.0.1:9/relay?token=QUERY-SECRET".into(),
            token: "BEARER-SECRET".into(),
        });
    let debug = format!("{builder:?}");
    for secret in [
        "KEY-BYTES-SECRET",
        "75, 69, 89",
        "QUERY-SECRET",
        "BEARER-SECRET",
    ] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
    assert!(debug.contains("127.0.0.1:9/relay"), "{debug}");
}

#[test]
fn a_ca_given_to_the_builder_is_trusted() {
    let state = tempfile::tempdir().expect("tmp");
    let receiver = HttpReceiver::start_tls();
    let ca = receiver.ca().expect("ca").path().to_owned();
    for by_variable in [false, true] {
        let mut env = Environment::from_pairs([("CONTRAST_DOTNET_TELEMETRY_OPTOUT", "false")]);
        if by_variable {
            env.set("CANDOR_CA_FILE", &ca);
        }
        let mut builder =
            Telemetry::builder(candor::builtin("contrast-dotnet-agent").expect("built in"))
                .runtime("framework")
                .version("21.1.2")
                .state_dir(state.path())
                .environment(env)
                .sink(SinkSpec::OtlpHttp {
                    endpoint: receiver.url(""),
                })
                .batch_wait(Duration::from_millis(20));
        if !by_variable {
            builder = builder.ca_file(&ca);
        }
        let telemetry = builder.build().expect("telemetry");
        telemetry.record("working_set", Input::Count(1 << 20));
        telemetry.shutdown(Duration::from_secs(5));
    }
    assert_eq!(receiver.events().len(), 2);
}

/// `[transport]` in the user's config.toml is Candor's own configuration file for where and how
/// it sends: its CA is trusted, and a section Candor cannot use is a one-line build error.
#[test]
fn the_config_files_transport_section_names_the_ca() {
    let state = tempfile::tempdir().expect("tmp");
    let receiver = HttpReceiver::start_tls();
    let ca = receiver.ca().expect("ca").path().to_owned();
    std::fs::copy(&ca, state.path().join("company-ca.pem")).expect("copy the CA");
    let builder = || {
        Telemetry::builder(candor::builtin("contrast-dotnet-agent").expect("built in"))
            .runtime("framework")
            .version("21.1.2")
            .state_dir(state.path())
            .environment(Environment::from_pairs([(
                "CONTRAST_DOTNET_TELEMETRY_OPTOUT",
                "false",
            )]))
            .sink(SinkSpec::OtlpHttp {
                endpoint: receiver.url(""),
            })
            .batch_wait(Duration::from_millis(20))
    };
    // Without the section, the test CA is not trusted: nothing is delivered.
    let telemetry = builder().build().expect("telemetry");
    telemetry.record("working_set", Input::Count(1 << 20));
    let status = telemetry.shutdown(Duration::from_secs(2));
    assert_eq!(status.sent.map(|s| s.delivered), Some(0));
    // A relative path is read from Candor's folder.
    std::fs::write(
        state.path().join("config.toml"),
        "# the operator's settings\n[transport]\nca_file = \"company-ca.pem\"\nrequest_timeout_seconds = 10\n",
    )
    .expect("config");
    let telemetry = builder().build().expect("telemetry");
    telemetry.record("working_set", Input::Count(1 << 20));
    telemetry.shutdown(Duration::from_secs(5));
    // The first run's value waited in the spool and goes out with the second's.
    assert_eq!(receiver.events().len(), 2);
    for bad in [
        "[transport]\nca_fil = \"x.pem\"\n",
        "[transport]\nrequest_timeout_seconds = -1\n",
        "[transport]\nconnect_timeout_seconds = \"soon\"\n",
    ] {
        std::fs::write(state.path().join("config.toml"), bad).expect("config");
        let error = builder().build().expect_err(bad).to_string();
        assert!(error.contains("[transport]"), "{error}");
        assert!(!error.contains('\n'), "one line: {error}");
    }
}
