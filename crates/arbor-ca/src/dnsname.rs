//! dNSName syntax for subscriber certificates (RFC 5280 §4.2.1.6, RFC 1035
//! §2.3.4, CA/B Forum BR §7.1.2.7.12): lower-case LDH labels, no
//! underscores, a wildcard only as the whole leftmost label. Whether a
//! syntactically valid name may be issued for is the RA's policy.

/// RFC 1035 §2.3.4: a DNS name is at most 253 characters in text form.
const MAX_DNS_NAME_LEN: usize = 253;
/// RFC 1035 §2.3.4: a label is at most 63 octets.
const MAX_LABEL_LEN: usize = 63;

/// Syntax of a dNSName (RFC 5280 §4.2.1.6, BR §7.1.2.7.12): lower-case LDH
/// labels, no underscores, a wildcard only as the whole leftmost label.
pub(crate) fn dns_name_syntax(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > MAX_DNS_NAME_LEN {
        return Err("length out of range");
    }
    let labels: Vec<&str> = name.split('.').collect();
    for (i, label) in labels.iter().enumerate() {
        if *label == "*" {
            if i != 0 || labels.len() < 2 {
                return Err("wildcard outside the leftmost label");
            }
            continue;
        }
        if label.is_empty() || label.len() > MAX_LABEL_LEN {
            return Err("empty or over-long label");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err("label has characters other than a-z 0-9 -");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("label starts or ends with a hyphen");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::dns_name_syntax;

    #[test]
    fn dns_syntax() {
        for ok in [
            "example.com",
            "*.example.com",
            "xn--bcher-kva.example",
            "localhost",
            "a-b.c1",
        ] {
            assert!(dns_name_syntax(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "*",
            "a.*.com",
            "*.*.com",
            "Example.com",
            "a_b.com",
            "-a.com",
            "a-.com",
            "a..com",
            "foo*.com",
            "example.com.",
        ] {
            assert!(dns_name_syntax(bad).is_err(), "{bad}");
        }
    }
}
