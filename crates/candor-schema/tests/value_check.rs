//! The value check both ends share (`check_value`): the item cap a point declares, names as a
//! sender makes them (sorted, each once), and text free of the characters no sender keeps.

use std::collections::BTreeMap;

use candor_schema::{
    Catalogue, DEFAULT_MAX_ITEMS, ExceptionValue, MismatchKind, Value, check_value,
    is_unsendable_char,
};

fn catalogue(product: &str) -> &'static Catalogue {
    candor_schema::builtin::catalogues()
        .expect("built-ins")
        .get(product)
        .expect("product")
}

fn check(product: &str, point: &str, value: Value) -> Result<(), MismatchKind> {
    let spec = catalogue(product).data_point(point).expect("declared");
    check_value(spec, &value).map_err(|e| e.kind)
}

fn agent(point: &str, value: Value) -> Result<(), MismatchKind> {
    check("contrast-dotnet-agent", point, value)
}

fn names(count: usize) -> Value {
    Value::Names((0..count).map(|i| format!("Setting.{i:05}")).collect())
}

#[test]
fn items_beyond_the_points_cap_are_refused_on_every_kind_with_items() {
    let cap = DEFAULT_MAX_ITEMS as usize;
    assert_eq!(agent("non_default_setting_names", names(cap)), Ok(()));
    assert_eq!(
        agent("non_default_setting_names", names(cap + 1)),
        Err(MismatchKind::TooManyItems)
    );
    let labels = |n: usize| Value::LabelCounts((0..n).map(|i| (format!("{i}"), 1)).collect());
    assert_eq!(agent("contrast_http_status_codes", labels(cap)), Ok(()));
    assert_eq!(
        agent("contrast_http_status_codes", labels(cap + 1)),
        Err(MismatchKind::TooManyItems)
    );
    let modes = |n: usize| {
        Value::ModeByName(
            (0..n)
                .map(|i| (format!("rule-{i}"), "block".to_owned()))
                .collect(),
        )
    };
    assert_eq!(agent("protect_rule_modes", modes(cap)), Ok(()));
    assert_eq!(
        agent("protect_rule_modes", modes(cap + 1)),
        Err(MismatchKind::TooManyItems)
    );
}

#[test]
fn names_come_sorted_and_each_once() {
    let value = |list: &[&str]| Value::Names(list.iter().map(|s| (*s).to_owned()).collect());
    assert_eq!(
        agent("non_default_setting_names", value(&["A.b", "A.c"])),
        Ok(())
    );
    for bad in [&["A.c", "A.b"][..], &["A.b", "A.b"], &["a", "a", "a"]] {
        assert_eq!(
            agent("non_default_setting_names", value(bad)),
            Err(MismatchKind::Shape),
            "{bad:?}"
        );
    }
}

/// NUL, an escape sequence, a C1 control and the bidirectional controls are refused wherever
/// a value carries text; newline and tab, which the scrubber keeps, are not.
#[test]
fn text_with_control_or_bidi_characters_is_refused_wherever_text_goes() {
    let planted = [
        "nul \u{0} here",
        "\u{1b}[31mred\u{1b}[0m",
        "csi \u{9b}2J",
        "left \u{202e}txt.exe",
        "isolate \u{2066}x\u{2069}",
        "mark \u{200f}",
        "carriage\rreturn",
    ];
    for text in planted {
        let unsendable = Err(MismatchKind::UnsendableCharacter);
        assert_eq!(
            agent("os_version", Value::Text(text.into())),
            unsendable,
            "{text:?}"
        );
        let exception = |message: &str, frame: &str, log: Option<&str>| {
            Value::Exception(ExceptionValue {
                type_name: "System.InvalidOperationException".into(),
                message: message.into(),
                frames: vec![frame.into()],
                frames_dropped: 0,
                log_message: log.map(Into::into),
            })
        };
        let frame = "at Contrast.Agent.Run()";
        assert_eq!(
            agent("sensor_exceptions", exception(text, frame, None)),
            unsendable
        );
        assert_eq!(
            agent("sensor_exceptions", exception("m", text, None)),
            unsendable
        );
        assert_eq!(
            agent("sensor_exceptions", exception("m", frame, Some(text))),
            unsendable
        );
        let properties = Value::Properties(BTreeMap::from([("page".into(), text.into())]));
        assert_eq!(
            check("aspire-dashboard", "page_navigation", properties),
            unsendable
        );
        assert_eq!(
            check(
                "aspire-dashboard",
                "request_user_agent",
                Value::UserAgent(text.into())
            ),
            unsendable
        );
    }
    assert_eq!(
        agent("os_version", Value::Text("line one\nline\ttwo".into())),
        Ok(())
    );
    // A frame is one line: the sender splits the stack at line breaks.
    let two_lines = Value::Exception(ExceptionValue {
        type_name: "System.Exception".into(),
        message: "m".into(),
        frames: vec!["at A()\nat B()".into()],
        frames_dropped: 0,
        log_message: None,
    });
    assert_eq!(
        agent("sensor_exceptions", two_lines),
        Err(MismatchKind::Shape)
    );
}

#[test]
fn the_unsendable_set_is_exactly_controls_but_newline_and_tab_and_the_bidi_controls() {
    let refused: Vec<u32> = (0..=0x10ffff_u32)
        .filter_map(char::from_u32)
        .filter(|c| is_unsendable_char(*c))
        .map(u32::from)
        .collect();
    let mut expected: Vec<u32> = (0..0x20).filter(|c| *c != 0x0a && *c != 0x09).collect();
    expected.extend(0x7f..=0x9f);
    expected.extend([0x200e, 0x200f]);
    expected.extend(0x202a..=0x202e);
    expected.extend(0x2066..=0x2069);
    assert_eq!(refused, expected);
}
