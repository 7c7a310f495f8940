//! What the filter looks at in a comment: the words of its text (Unicode aware: scripts written
//! without spaces become character pairs), the domains it links to, and the commenter's name,
//! website and email domain, plus a few counts. Each token counts once per comment.

/// Words shorter than this say little (SpamBayes' choice).
const MIN_WORD_CHARS: usize = 3;
/// Longer runs are mostly encoded junk; they become one `skip:` token by first letter and size.
const MAX_WORD_CHARS: usize = 12;
/// A comment is at most 4,096 characters (some 700 words and their pairs), so this only bounds
/// pathological text.
const MAX_TOKENS: usize = 4_000;

/// The parts of a comment the filter reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct Message<'a> {
    pub name: &'a str,
    pub email: Option<&'a str>,
    pub website: Option<&'a str>,
    pub body: &'a str,
}

/// The comment's distinct tokens, sorted.
pub fn tokens(message: &Message<'_>) -> Vec<String> {
    let mut out = Bag::default();
    let body = message.body.to_lowercase();
    let links = link_hosts(&body);
    for (host, path) in &links {
        domain_tokens("url", host, &mut out);
        for word in path
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| (MIN_WORD_CHARS..=MAX_WORD_CHARS).contains(&w.chars().count()))
            .take(10)
        {
            out.insert(format!("urlword:{word}"));
        }
    }
    out.insert(
        match links.len() {
            0 => "links:0",
            1 => "links:1",
            2 => "links:2",
            3..=5 => "links:3-5",
            _ => "links:6+",
        }
        .to_owned(),
    );
    for domain in email_domains(&body) {
        out.insert(format!("email:{domain}"));
    }
    words(&body, &mut out);
    let chars = message.body.chars().count();
    out.insert(
        match chars {
            0..50 => "len:<50",
            50..200 => "len:<200",
            200..1000 => "len:<1000",
            _ => "len:1000+",
        }
        .to_owned(),
    );

    let name = message.name.trim().to_lowercase();
    if !name.is_empty() {
        out.insert(format!(
            "name:{}",
            name.chars().take(40).collect::<String>()
        ));
        for word in name
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            out.insert(format!("nameword:{word}"));
        }
    }
    match message.email.and_then(|e| e.rsplit_once('@')) {
        Some((_, domain)) => domain_tokens("from", &domain.to_lowercase(), &mut out),
        None => {
            out.insert("from:none".to_owned());
        }
    }
    match message.website.map(str::to_lowercase) {
        Some(site) => {
            let rest = site.split_once("://").map_or(site.as_str(), |(_, r)| r);
            domain_tokens("site", host_of(rest), &mut out);
        }
        None => {
            out.insert("site:none".to_owned());
        }
    }
    let mut tokens = out.0;
    tokens.sort_unstable();
    tokens.dedup();
    tokens.truncate(MAX_TOKENS);
    tokens
}

/// Tokens as found, repeats and all; sorted and deduplicated once at the end (cheaper than a
/// set kept sorted along the way).
#[derive(Default)]
struct Bag(Vec<String>);

impl Bag {
    fn insert(&mut self, token: String) {
        self.0.push(token);
    }
}

/// `prefix:host` and `prefix:` its parent domains down to two labels (`url:shop.example.com`,
/// `url:example.com`), so a spammer's new subdomain still carries the domain's history.
fn domain_tokens(prefix: &str, host: &str, out: &mut Bag) {
    let host = host.trim_end_matches('.');
    if host.is_empty() {
        return;
    }
    out.insert(format!("{prefix}:{host}"));
    let labels: Vec<&str> = host.split('.').collect();
    for start in 1..labels.len().saturating_sub(1) {
        out.insert(format!("{prefix}:{}", labels[start..].join(".")));
    }
}

/// The host of `rest` (an address after its scheme), and where its path starts in `rest`.
fn split_host(rest: &str) -> (&str, usize) {
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host.split(':').next().unwrap_or("");
    (host, end)
}

fn host_of(rest: &str) -> &str {
    split_host(rest).0
}

/// A token's key in the model: FNV-1a, 64 bits. Stable across builds and processes, so the
/// model keeps no commenter's words, names or domains, only these numbers.
pub fn key(token: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in token.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash as i64
}

/// The (host, path) of every web address in the text: `http://`, `https://` or `www.`.
fn link_hosts(text: &str) -> Vec<(String, String)> {
    let mut links = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let rest = &text[at..];
        let found = ["http://", "https://", "www."]
            .iter()
            .filter_map(|marker| rest.find(marker).map(|i| (i, *marker)))
            .min_by_key(|(i, _)| *i);
        let Some((i, marker)) = found else { break };
        let start = at + i + if marker == "www." { 0 } else { marker.len() };
        let end = text[start..]
            .find(|c: char| {
                c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '(' | ')' | '[' | ']')
            })
            .map_or(text.len(), |e| start + e);
        let address = &text[start..end];
        let (host, path_start) = split_host(address);
        if host.contains('.') {
            links.push((host.to_owned(), address[path_start..].to_owned()));
        }
        at = end.max(at + i + marker.len());
    }
    links
}

/// Domains of email addresses written in the text.
fn email_domains(text: &str) -> Vec<&str> {
    let mut domains = Vec::new();
    for (i, _) in text.match_indices('@') {
        let before = text[..i].chars().next_back();
        if !before.is_some_and(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '+')) {
            continue;
        }
        let rest = &text[i + 1..];
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '.' || c == '-'))
            .unwrap_or(rest.len());
        let domain = rest[..end].trim_end_matches('.');
        if domain.contains('.') {
            domains.push(domain);
        }
    }
    domains
}

/// Scripts written without spaces between words, read two characters at a time.
fn unspaced(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF     // Hiragana, Katakana
        | 0x3400..=0x4DBF   // CJK extension A
        | 0x4E00..=0x9FFF   // CJK unified ideographs
        | 0xF900..=0xFAFF   // CJK compatibility ideographs
        | 0x0E00..=0x0E7F   // Thai
        | 0x0E80..=0x0EFF   // Lao
        | 0x1000..=0x109F   // Myanmar
        | 0x1780..=0x17FF   // Khmer
        | 0x20000..=0x2FA1F)
}

/// Each word, and each pair of neighbouring words ("click here"): pairs caught 3% more of the
/// corpus's spam for no more good comments held (bench/spam).
fn words(text: &str, out: &mut Bag) {
    let mut word = String::new();
    let mut pairs: Vec<char> = Vec::new();
    let mut previous: Option<String> = None;
    let mut flush_word = |word: &mut String, out: &mut Bag| {
        let trimmed = word.trim_matches('\'');
        let n = trimmed.chars().count();
        if (MIN_WORD_CHARS..=MAX_WORD_CHARS).contains(&n) {
            out.insert(trimmed.to_owned());
            if let Some(previous) = previous.take() {
                out.insert(format!("{previous} {trimmed}"));
            }
            previous = Some(trimmed.to_owned());
        } else if n > MAX_WORD_CHARS {
            let first = trimmed.chars().next().unwrap_or('?');
            out.insert(format!("skip:{first} {}", n / 10 * 10));
            previous = None;
        } else if n > 0 {
            previous = None;
        }
        word.clear();
    };
    let flush_pairs = |pairs: &mut Vec<char>, out: &mut Bag| {
        match pairs.len() {
            0 => {}
            1 => {
                out.insert(pairs[0].to_string());
            }
            _ => {
                for pair in pairs.windows(2) {
                    out.insert(pair.iter().collect());
                }
            }
        }
        pairs.clear();
    };
    for c in text.chars() {
        if unspaced(c) {
            flush_word(&mut word, out);
            pairs.push(c);
        } else if c.is_alphanumeric() || c == '\'' || c == '$' {
            flush_pairs(&mut pairs, out);
            word.push(c);
        } else {
            flush_word(&mut word, out);
            flush_pairs(&mut pairs, out);
        }
    }
    flush_word(&mut word, out);
    flush_pairs(&mut pairs, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(body: &str) -> Vec<String> {
        tokens(&Message {
            name: "Ada",
            body,
            ..Message::default()
        })
    }

    #[test]
    fn words_are_lowercased_once_each_and_short_ones_dropped() {
        let t = of("Cheap CHEAP cheap pills, a deal of the day!");
        assert_eq!(t.iter().filter(|t| *t == "cheap").count(), 1);
        assert!(t.contains(&"pills".to_owned()));
        assert!(t.contains(&"deal".to_owned()));
        assert!(t.contains(&"cheap pills".to_owned()), "neighbours pair up");
        assert!(
            !t.contains(&"deal day".to_owned()),
            "not across a dropped word"
        );
        assert!(!t.contains(&"of".to_owned()), "too short");
        assert!(!t.iter().any(|t| t.starts_with("skip:")));
        assert!(of("supercalifragilistic").contains(&"skip:s 20".to_owned()));
    }

    #[test]
    fn unicode_letters_are_words_and_unspaced_scripts_become_pairs() {
        let t = of("Größe Überraschung 東京都 café");
        assert!(t.contains(&"größe".to_owned()));
        assert!(t.contains(&"überraschung".to_owned()));
        assert!(t.contains(&"café".to_owned()));
        assert!(t.contains(&"東京".to_owned()) && t.contains(&"京都".to_owned()));
    }

    #[test]
    fn links_give_their_domains_and_a_count() {
        let t = of("see https://shop.casino.example/win-big?x=1 and www.other.test");
        for token in [
            "url:shop.casino.example",
            "url:casino.example",
            "url:other.test",
            "urlword:win",
            "urlword:big",
            "links:2",
        ] {
            assert!(t.contains(&token.to_owned()), "{token} in {t:?}");
        }
        assert!(of("no links").contains(&"links:0".to_owned()));
        // A user part before the host, a port, and letters of any width: no slicing inside one.
        let odd = of("http://xxé@a.example:8080/pâté and https://é.example");
        assert!(odd.contains(&"url:a.example".to_owned()), "{odd:?}");
        assert!(odd.contains(&"urlword:pâté".to_owned()), "{odd:?}");
        assert!(odd.contains(&"url:é.example".to_owned()), "{odd:?}");
    }

    #[test]
    fn keys_are_fnv_1a() {
        // The reference values of FNV-1a 64.
        assert_eq!(key("") as u64, 0xcbf2_9ce4_8422_2325);
        assert_eq!(key("a") as u64, 0xaf63_dc4c_8601_ec8c);
        assert_ne!(key("casino"), key("casinos"));
    }

    #[test]
    fn the_commenter_fields_are_tokens_of_their_own() {
        let t = tokens(&Message {
            name: "Best Loans",
            email: Some("x@Mail.Example.org"),
            website: Some("https://loans.example.net/apply"),
            body: "hello there",
        });
        for token in [
            "name:best loans",
            "nameword:loans",
            "from:mail.example.org",
            "from:example.org",
            "site:loans.example.net",
            "site:example.net",
        ] {
            assert!(t.contains(&token.to_owned()), "{token} in {t:?}");
        }
        let anonymous = of("hello");
        assert!(anonymous.contains(&"from:none".to_owned()));
        assert!(anonymous.contains(&"site:none".to_owned()));
    }
}
