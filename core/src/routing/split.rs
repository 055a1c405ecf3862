//! Weighted splits, deterministic per order: the same tenant, rule and
//! merchant order number always land in the same bucket, in every process
//! and every version, so a retried order goes to the same channel.
//!
//! The bucket is the first 8 bytes of
//! `sha256(tenant 0x00 rule 0x00 merchant_order_no)` as a big-endian `u64`,
//! modulo the total weight. A fixed hash, never `DefaultHasher`, whose
//! output may change between Rust releases.

use sha2::{Digest, Sha256};

/// Where an order falls in `0..total`. `total` must be positive.
pub fn bucket(tenant: &str, rule: &str, merchant_order_no: &str, total: u64) -> u64 {
    let mut h = Sha256::new();
    h.update(tenant.as_bytes());
    h.update([0]);
    h.update(rule.as_bytes());
    h.update([0]);
    h.update(merchant_order_no.as_bytes());
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first) % total
}

/// The entry whose share of `0..total` holds `bucket`: shares are laid out
/// in the order written, each as wide as its weight.
pub fn pick(weights: &[u32], bucket: u64) -> usize {
    let mut end = 0u64;
    for (i, w) in weights.iter().enumerate() {
        end += u64::from(*w);
        if bucket < end {
            return i;
        }
    }
    // Unreachable with bucket < total; the last entry is a safe answer.
    weights.len().saturating_sub(1)
}

/// The order in which a split's channels are tried: the picked one, then
/// the others by descending weight (ties in the order written).
pub fn order(weights: &[u32], picked: usize) -> Vec<usize> {
    let mut rest: Vec<usize> = (0..weights.len()).filter(|i| *i != picked).collect();
    rest.sort_by_key(|i| std::cmp::Reverse(weights[*i]));
    std::iter::once(picked).chain(rest).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_stable_across_versions() {
        // Pinned values: if these change, every tenant's split reshuffles.
        let pinned: Vec<u64> = ["A1", "A2", "A3", "A4"]
            .iter()
            .map(|o| bucket("demo", "split", o, 1_000_000))
            .collect();
        assert_eq!(pinned, PINNED);
    }

    const PINNED: [u64; 4] = [725635, 140670, 948539, 212863];

    #[test]
    fn shares_follow_the_weights() {
        assert_eq!(pick(&[80, 20], 0), 0);
        assert_eq!(pick(&[80, 20], 79), 0);
        assert_eq!(pick(&[80, 20], 80), 1);
        assert_eq!(pick(&[80, 20], 99), 1);
        assert_eq!(pick(&[0, 5, 0, 5], 0), 1);
        assert_eq!(pick(&[0, 5, 0, 5], 5), 3);
        assert_eq!(order(&[10, 50, 40, 0], 2), [2, 1, 0, 3]);
    }

    /// 10,000 orders over an 80/20 split: each share within 2 percentage
    /// points of its weight (the binomial standard deviation is 0.4 points,
    /// so this is a 5-sigma bound), and each order always picks the same.
    #[test]
    fn ten_thousand_orders_split_by_weight_and_repeat_their_pick() {
        let weights = [80, 20];
        let total = 100;
        let mut counts = [0u32; 2];
        for n in 0..10_000 {
            let order_no = format!("ORD-{n:06}");
            let b = bucket("acme", "card-split", &order_no, total);
            let first = pick(&weights, b);
            counts[first] += 1;
            for _ in 0..3 {
                let again = pick(&weights, bucket("acme", "card-split", &order_no, total));
                assert_eq!(again, first, "{order_no} moved");
            }
        }
        let share = f64::from(counts[0]) / 10_000.0;
        assert!((share - 0.80).abs() <= 0.02, "observed {share}, {counts:?}");
    }

    #[test]
    fn three_way_split_with_a_standby() {
        let weights = [50, 30, 20, 0];
        let mut counts = [0u32; 4];
        for n in 0..10_000 {
            let b = bucket("t", "r", &format!("{n}"), 100);
            counts[pick(&weights, b)] += 1;
        }
        assert_eq!(counts[3], 0, "weight 0 is never picked first");
        for (i, w) in weights.iter().enumerate().take(3) {
            let share = f64::from(counts[i]) / 10_000.0;
            assert!(
                (share - f64::from(*w) / 100.0).abs() <= 0.025,
                "{i}: {share} {counts:?}"
            );
        }
    }
}
