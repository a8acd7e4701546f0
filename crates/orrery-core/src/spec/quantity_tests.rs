//! Unit tests of memory sizes and CPU amounts as written and as shown.

use super::*;

#[track_caller]
fn check_memory(text: &str, expected: Result<u64, &str>) {
    assert_eq!(
        parse_memory(text),
        expected.map_err(str::to_owned),
        "parse_memory({text:?})"
    );
}

#[track_caller]
fn check_cpu(text: &str, expected: Result<u32, &str>) {
    assert_eq!(
        parse_cpu_millis(text),
        expected.map_err(str::to_owned),
        "parse_cpu_millis({text:?})"
    );
}

#[test]
fn memory_sizes() {
    check_memory("64Mi", Ok(64 << 20));
    check_memory("1Gi", Ok(1 << 30));
    check_memory("512M", Ok(512_000_000));
    check_memory("2G", Ok(2_000_000_000));
    check_memory("1024Ki", Ok(1 << 20));
    check_memory("1048576", Ok(1_048_576));
    check_memory("1k", Ok(1000));
    check_memory("3Ti", Ok(3 << 40));
    check_memory("1.5Gi", Ok(3 << 29));
    check_memory("0.5Ki", Ok(512));
    check_memory("1.250M", Ok(1_250_000));
    check_memory("007Mi", Ok(7 << 20));
    check_memory("15Ei", Ok(15 << 60));
    check_memory("0", Ok(0));
}

#[test]
fn memory_size_problems() {
    let units = "(use Ki, Mi, Gi, Ti, Pi, Ei for powers of 1024 or k, M, G, T, P, E for \
                 powers of 1000; a plain number is bytes)";
    check_memory(
        "12Qi",
        Err(&format!(r#"unknown unit "Qi" in "12Qi" {units}"#)),
    );
    check_memory(
        "1gi",
        Err(&format!(
            r#"unknown unit "gi" in "1gi" {units}, did you mean "Gi"?"#
        )),
    );
    check_memory(
        "1GiB",
        Err(&format!(
            r#"unknown unit "GiB" in "1GiB" {units}, did you mean "Gi"?"#
        )),
    );
    check_memory(
        "1GB",
        Err(&format!(
            r#"unknown unit "GB" in "1GB" {units}, did you mean "G"?"#
        )),
    );
    check_memory(
        "512m",
        Err(&format!(
            r#"unknown unit "m" in "512m" {units}, did you mean "M"?"#
        )),
    );
    check_memory(
        "1 Gi",
        Err(&format!(
            r#"unknown unit " Gi" in "1 Gi" {units}, did you mean "Gi"?"#
        )),
    );
    for malformed in ["", "Gi", "-1", "-1Gi", ".5Gi", "1.Gi", "1..5Gi", "1.2.3"] {
        check_memory(
            malformed,
            Err(&format!(
                "invalid memory size {malformed:?}: write a number of bytes, or a number \
                 with a unit such as \"512Mi\" or \"2G\""
            )),
        );
    }
    check_memory("0.5", Err(r#""0.5" is not a whole number of bytes"#));
    check_memory("0.1Ki", Err(r#""0.1Ki" is not a whole number of bytes"#));
    check_memory(
        "1.0000000000000000001Gi",
        Err(r#""1.0000000000000000001Gi" is not a whole number of bytes"#),
    );
    check_memory("16Ei", Err(r#""16Ei" is too large"#));
    check_memory(
        "18446744073709551616",
        Err(r#""18446744073709551616" is too large"#),
    );
    check_memory(
        "999999999999999999999999999",
        Err(r#""999999999999999999999999999" is too large"#),
    );
}

#[test]
fn cpu_amounts() {
    check_cpu("2", Ok(2000));
    check_cpu("0.5", Ok(500));
    check_cpu("0.001", Ok(1));
    check_cpu("1.250", Ok(1250));
    check_cpu("500m", Ok(500));
    check_cpu("1m", Ok(1));
    check_cpu("2000m", Ok(2000));
    check_cpu("0", Ok(0));
    check_cpu("0m", Ok(0));
}

#[test]
fn cpu_amount_problems() {
    let finer = |text: &str| format!("{text:?} is finer than one millicore (0.001 cores, \"1m\")");
    check_cpu("0.0001", Err(&finer("0.0001")));
    check_cpu("0.0005", Err(&finer("0.0005")));
    check_cpu("0.5m", Err(&finer("0.5m")));
    check_cpu(
        "0.0000000000000000000001",
        Err(&finer("0.0000000000000000000001")),
    );
    for malformed in [
        "", "m", "-1", "1e3", "2 cores", "2M", "500mm", ".5", "1.", "inf",
    ] {
        check_cpu(
            malformed,
            Err(&format!(
                "invalid CPU amount {malformed:?}: write cores (\"2\", \"0.5\") or \
                 millicores (\"500m\")"
            )),
        );
    }
    check_cpu("5000000", Err(r#""5000000" is too large"#));
    check_cpu("4294967296m", Err(r#""4294967296m" is too large"#));
}

#[test]
fn bytes_for_people() {
    for (bytes, expected) in [
        (0, "0"),
        (512, "512"),
        (1023, "1023"),
        (1024, "1Ki"),
        (1536, "1.5Ki"),
        (1500, "1.5Ki"),
        (64 << 20, "64Mi"),
        (1 << 30, "1Gi"),
        (3 << 29, "1.5Gi"),
        ((1 << 30) + (1 << 20), "1.0Gi"),
        ((1 << 30) - 1, "1.0Gi"),
        ((1 << 20) - 1, "1.0Mi"),
        (2_000_000_000, "1.9Gi"),
        (5 << 40, "5Ti"),
        (u64::MAX, "16.0Ei"),
    ] {
        assert_eq!(format_bytes(bytes), expected, "format_bytes({bytes})");
    }
}

#[test]
fn whole_sizes_read_back_as_written() {
    for bytes in [
        1,
        512,
        1024,
        1536,
        64 << 20,
        3 << 29,
        1 << 30,
        7 << 40,
        1 << 60,
    ] {
        let text = format_bytes(bytes);
        assert_eq!(parse_memory(&text), Ok(bytes), "{text}");
    }
}
