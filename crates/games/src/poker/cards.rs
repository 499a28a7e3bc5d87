//! Cards as compact values, their readable names, and the provably fair deck.
//!
//! A card is a `u8` in `0..52`: `rank * 4 + suit`, with ranks `0..13` for 2 … A and suits
//! `0..4` for clubs, diamonds, hearts, spades. The unshuffled deck is `0, 1, …, 51`, that is
//! `2c 2d 2h 2s 3c … As`.
//!
//! The shuffle is a function of a 32-byte hand seed alone (docs/games/poker.md): Fisher–Yates
//! from the last position down, each index drawn from a byte stream of
//! `sha256(seed || counter)` blocks by rejection sampling. Publishing `sha256(seed)` before the
//! hand and the seed after it lets anyone recompute the deck order.

use sha2::{Digest, Sha256};

/// A card: `rank * 4 + suit`, `0..52`.
pub type Card = u8;

/// Cards in a deck.
pub const DECK_SIZE: usize = 52;

const RANKS: &[u8; 13] = b"23456789TJQKA";
const SUITS: &[u8; 4] = b"cdhs";

/// Rank of a card, `0` (deuce) to `12` (ace).
pub fn rank(card: Card) -> u8 {
    card >> 2
}

/// Suit of a card, `0..4` for clubs, diamonds, hearts, spades.
pub fn suit(card: Card) -> u8 {
    card & 3
}

/// The readable name of a card: rank then suit, `"As"`, `"Td"`, `"2c"`.
pub fn card_name(card: Card) -> String {
    let r = RANKS[usize::from(rank(card) % 13)];
    let s = SUITS[usize::from(suit(card))];
    String::from_utf8_lossy(&[r, s]).into_owned()
}

/// Names of several cards.
pub fn card_names(cards: &[Card]) -> Vec<String> {
    cards.iter().map(|&c| card_name(c)).collect()
}

/// Parse a card name such as `"As"` or `"td"` (rank case-insensitive).
pub fn parse_card(name: &str) -> Option<Card> {
    let b = name.as_bytes();
    if b.len() != 2 {
        return None;
    }
    let r = RANKS.iter().position(|&x| x == b[0].to_ascii_uppercase())?;
    let s = SUITS.iter().position(|&x| x == b[1].to_ascii_lowercase())?;
    Some((r * 4 + s) as Card)
}

/// Lower-case hex of some bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// Decode a 64-digit hex string into a 32-byte seed.
pub fn parse_seed(hex_seed: &str) -> Option<[u8; 32]> {
    let b = hex_seed.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = digit(b[2 * i])? << 4 | digit(b[2 * i + 1])?;
    }
    Some(out)
}

/// The published commitment to a hand seed: `sha256(seed)` in lower-case hex.
pub fn commitment(seed: &[u8; 32]) -> String {
    hex(&Sha256::digest(seed))
}

/// An endless stream of unsigned 64-bit numbers: the blocks `sha256(seed || counter)` for
/// `counter = 0, 1, 2, …` (a big-endian `u32`), each block read as four big-endian `u64`s.
struct SeedStream {
    seed: [u8; 32],
    counter: u32,
    block: [u8; 32],
    used: usize,
}

impl SeedStream {
    fn new(seed: &[u8; 32]) -> Self {
        Self {
            seed: *seed,
            counter: 0,
            block: [0; 32],
            used: 32,
        }
    }

    fn next_u64(&mut self) -> u64 {
        if self.used == 32 {
            let mut h = Sha256::new();
            h.update(self.seed);
            h.update(self.counter.to_be_bytes());
            self.block.copy_from_slice(&h.finalize());
            self.counter = self.counter.wrapping_add(1);
            self.used = 0;
        }
        let mut word = [0u8; 8];
        word.copy_from_slice(&self.block[self.used..self.used + 8]);
        self.used += 8;
        u64::from_be_bytes(word)
    }

    /// A uniform integer in `0..n`: draw `x` until `x < n * floor(2^64 / n)`, answer `x % n`.
    fn below(&mut self, n: u64) -> u64 {
        let limit = (u64::MAX / n) * n;
        loop {
            let x = self.next_u64();
            if x < limit {
                return x % n;
            }
        }
    }
}

/// The deck order for a hand seed: Fisher–Yates over `0..52`, for `i` from 51 down to 1
/// swapping position `i` with a uniform `j` in `0..=i`. Cards are dealt from position 0.
pub fn deck_from_seed(seed: &[u8; 32]) -> [Card; DECK_SIZE] {
    let mut deck = [0 as Card; DECK_SIZE];
    for (i, c) in deck.iter_mut().enumerate() {
        *c = i as Card;
    }
    let mut stream = SeedStream::new(seed);
    for i in (1..DECK_SIZE).rev() {
        let j = stream.below(i as u64 + 1) as usize;
        deck.swap(i, j);
    }
    deck
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in 0..52u8 {
            assert_eq!(parse_card(&card_name(c)), Some(c));
        }
        assert_eq!(card_name(51), "As");
        assert_eq!(card_name(0), "2c");
        assert_eq!(parse_card("Td"), Some(8 * 4 + 1));
        assert_eq!(parse_card("1x"), None);
        assert_eq!(parse_card("Asx"), None);
    }

    #[test]
    fn deck_is_a_permutation_fixed_by_the_seed() {
        let a = deck_from_seed(&[7; 32]);
        let b = deck_from_seed(&[7; 32]);
        let c = deck_from_seed(&[8; 32]);
        assert_eq!(a, b);
        assert_ne!(a, c);
        let mut sorted = a;
        sorted.sort_unstable();
        assert_eq!(sorted.to_vec(), (0..52).collect::<Vec<u8>>());
    }

    #[test]
    fn the_documented_algorithm_gives_this_order() {
        // Pinned so that the verification recipe in docs/games/poker.md cannot drift.
        let deck = deck_from_seed(&[0; 32]);
        assert_eq!(card_names(&deck[..5]), ["Jd", "7h", "Ac", "4c", "Kd"]);
        assert_eq!(
            commitment(&[0; 32]),
            "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925"
        );
    }

    #[test]
    fn hex_seed_round_trips() {
        let seed: [u8; 32] = std::array::from_fn(|i| (i * 9) as u8);
        assert_eq!(parse_seed(&hex(&seed)), Some(seed));
        assert_eq!(parse_seed("zz"), None);
    }
}
