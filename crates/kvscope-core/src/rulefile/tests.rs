use super::*;

#[test]
fn alert_names_are_camel_case_codes() {
    assert_eq!(alert_name("eventbus_dropping"), "KvscopeEventbusDropping");
    assert_eq!(
        alert_name("l0_l1_throughput_low"),
        "KvscopeL0L1ThroughputLow"
    );
}
