//! The stack against a naive LRU list, on hand-made reference streams (random, so every
//! order of reuse comes up).

use super::*;

/// A deterministic generator of test streams.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Naive: the list of keys, most recent first; a distance is the bytes above and at the key.
fn naive(list: &[(u64, u64)], key: u64) -> Option<u64> {
    let mut bytes = 0;
    for &(k, b) in list {
        bytes += b;
        if k == key {
            return Some(bytes);
        }
    }
    None
}

#[test]
fn distances_equal_a_naive_lru_list_through_compactions_and_growth() {
    let mut s = Stack::new(1 << 20);
    let small = s.class(3 << 20).unwrap();
    let big = s.class(5 << 20).unwrap();
    let mut list: Vec<(u64, u64)> = Vec::new();
    let mut rng = Rng(7);
    for i in 0..20_000u64 {
        // Mostly reuse of a few hundred keys, sometimes a new one.
        let id = if rng.next().is_multiple_of(10) {
            1000 + i
        } else {
            rng.next() % 400
        };
        let (class, bytes) = if id.is_multiple_of(3) {
            (big, 5 << 20)
        } else {
            (small, 3 << 20)
        };
        let key = Stack::key(class, id.wrapping_mul(0x1234_5678_9abc_def1));
        assert_eq!(s.distance(key), naive(&list, key), "reference {i}");
        s.touch(key);
        list.retain(|&(k, _)| k != key);
        list.insert(0, (key, bytes));
    }
    assert_eq!(s.len(), list.len());
}

#[test]
fn past_the_limit_it_samples_and_holds_at_most_the_limit() {
    let mut s = Stack::new(2048);
    let c = s.class(1).unwrap();
    let mut rng = Rng(11);
    for _ in 0..100_000 {
        s.touch(Stack::key(c, rng.next()));
        assert!(s.len() <= 2048);
    }
    assert!(
        s.halvings() >= 5,
        "100,000 distinct keys into 2,048: {}",
        s.halvings()
    );
    // A kept key's distance is scaled by the rate: about the distinct keys since.
    let k = (0..)
        .map(|_| Stack::key(c, rng.next()))
        .find(|&k| s.sampled(k))
        .unwrap();
    s.touch(k);
    for _ in 0..10_000 {
        s.touch(Stack::key(c, rng.next()));
    }
    let d = s.distance(k).unwrap() as f64;
    assert!((d - 10_001.0).abs() < 2_500.0, "{d}");
}

#[test]
fn a_class_added_later_reweights_what_is_held() {
    let mut s = Stack::new(4096);
    let a = s.class(4).unwrap();
    let k1 = Stack::key(a, 1);
    let k2 = Stack::key(a, 2);
    s.touch(k1);
    s.touch(k2);
    assert_eq!(s.distance(k1), Some(8));
    let b = s.class(6).unwrap();
    s.touch(Stack::key(b, 3));
    assert_eq!(s.distance(k1), Some(14));
    assert_eq!(s.class(4), Some(a));
}
