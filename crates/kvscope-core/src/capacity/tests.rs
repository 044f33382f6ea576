//! Prefix semantics on hand-made lookups (each a list of chunk ids), against a naive LRU that
//! runs every lookup at each capacity as LMCache's L1 does: hit the leading run held, then
//! reference every chunk, the last first.

use super::*;

fn naive_hits(lookups: &[Vec<u64>], capacity: usize) -> u64 {
    let mut lru: Vec<u64> = Vec::new(); // most recent first
    let mut hits = 0;
    for l in lookups {
        hits += l.iter().take_while(|c| lru.contains(c)).count() as u64;
        for c in l.iter().rev() {
            lru.retain(|x| x != c);
            lru.insert(0, *c);
        }
        lru.truncate(capacity);
    }
    hits
}

fn curves(lookups: &[Vec<u64>]) -> Curves {
    let mut c = Curves::new(1 << 20);
    for l in lookups {
        c.lookup(&Lookup {
            model: "m",
            salt: None,
            chunk_tokens: 1,
            chunk_bytes: Some(1),
            hashes: l,
        });
    }
    c
}

#[test]
fn hits_at_every_capacity_equal_a_naive_prefix_lru() {
    // Shared prefixes (chunk 1 then 2 or 3), a long request pushing them out, a request whose
    // middle chunk was evicted while its start was not.
    let mut lookups = vec![
        vec![1, 2],
        vec![1, 3],
        vec![1, 2, 4, 5],
        vec![10, 11, 12, 13, 14, 15],
        vec![1, 2, 4],
        vec![1, 3],
        vec![20, 2, 21],
    ];
    let mut x = 5u64;
    for _ in 0..300 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let start = (x >> 33) % 6;
        let len = 1 + (x >> 40) % 5;
        lookups.push((0..len).map(|i| 100 * start + i).collect());
    }
    let c = curves(&lookups);
    let m = &c.models["m"];
    let total: u64 = lookups.iter().map(|l| l.len() as u64).sum();
    assert_eq!(m.tokens(), total);
    for cap in 1..40 {
        let want = naive_hits(&lookups, cap) as f64 / total as f64;
        let got = m.hit_rate(cap as f64).unwrap();
        assert!(
            (got - want).abs() < 1e-12,
            "capacity {cap}: {got} vs {want}"
        );
    }
    // The ceiling: an unbounded cache (a chunk after one never seen before misses too).
    let distinct: std::collections::BTreeSet<_> = lookups.iter().flatten().collect();
    assert_eq!(c.distinct(), distinct.len() as u64);
    let unbounded = naive_hits(&lookups, usize::MAX) as f64 / total as f64;
    assert!((m.ceiling().unwrap() - unbounded).abs() < 1e-12);
    assert!(unbounded < 1.0 - distinct.len() as f64 / total as f64);
}

#[test]
fn a_lookup_misses_from_its_first_chunk_not_held() {
    // [1, 2] then [3]: at capacity 2, chunk 2 (touched before 1) was evicted, 1 was not.
    let c = curves(&[vec![1, 2], vec![3], vec![1, 2]]);
    let m = &c.models["m"];
    assert_eq!(m.hit_rate(2.0), Some(1.0 / 5.0));
    assert_eq!(m.hit_rate(3.0), Some(2.0 / 5.0));
    assert_eq!(m.capacity_for(0.4), Some(3.0));
    assert_eq!(m.capacity_for(0.5), None);
}

#[test]
fn models_and_salts_are_keyspaces_of_their_own() {
    let mut c = Curves::new(1 << 20);
    for (model, salt) in [("a", None), ("b", None), ("a", Some("s")), ("a", None)] {
        c.lookup(&Lookup {
            model,
            salt,
            chunk_tokens: 256,
            chunk_bytes: Some(1 << 20),
            hashes: &[7, 8],
        });
    }
    assert_eq!(c.distinct(), 6);
    assert_eq!(c.models["a"].ceiling(), Some(1.0 / 3.0));
    assert_eq!(c.models["b"].ceiling(), Some(0.0));
    let all = c.total();
    assert_eq!(all.tokens(), 8 * 256);
    assert_eq!(all.chunk_bytes, Some(1 << 20));
}

#[test]
fn chunk_bytes_from_shapes_and_dtypes() {
    // LMCache 0.5.6's bench shape, as its real log writes it.
    let shape = vec![vec![2, 32, 256, 1024]];
    assert_eq!(
        chunk_bytes(&shape, &["torch.float16".into()]),
        Some(32 << 20)
    );
    assert_eq!(chunk_bytes(&shape, &["torch.complex64".into()]), None);
    assert_eq!(chunk_bytes(&shape, &[]), None);
    assert_eq!(chunk_bytes(&[vec![u64::MAX, 2]], &["float32".into()]), None);
}
