//! A browser's `User-Agent`, told back to its owner in a few words ("Firefox 133 on Linux"),
//! so that a session list says which is which. Guesswork by nature: only ever shown, never
//! trusted.

/// At most this much of a `User-Agent` is kept with a session.
pub const MAX_USER_AGENT: usize = 400;

pub fn describe(user_agent: &str) -> String {
    if user_agent.trim().is_empty() {
        return "Unknown browser".to_owned();
    }
    let version = |token: &str| -> Option<String> {
        let start = user_agent.find(token)? + token.len();
        let major: String = user_agent[start..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        Some(major)
    };
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("FxiOS/", "Firefox"),
        ("HeadlessChrome/", "Chrome (headless)"),
        ("CriOS/", "Chrome"),
        ("Chrome/", "Chrome"),
    ]
    .iter()
    .find_map(|(token, name)| version(token).map(|v| format!("{name} {v}")))
    .or_else(|| {
        (user_agent.contains("Safari/"))
            .then(|| version("Version/").map_or("Safari".to_owned(), |v| format!("Safari {v}")))
    })
    .unwrap_or_else(|| {
        // A client that is not a browser: its own first word ("curl/8.5.0" → "curl").
        user_agent
            .split(['/', ' '])
            .next()
            .unwrap_or("Unknown")
            .chars()
            .take(40)
            .collect()
    });
    let system = [
        ("Windows", "Windows"),
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(token, _)| user_agent.contains(token))
    .map(|(_, name)| *name);
    match system {
        Some(system) => format!("{} on {system}", browser.trim()),
        None => browser.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn names_common_browsers() {
        for (agent, expected) in [
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
                "Firefox 133 on Linux",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
                "Edge 131 on Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
                "Safari 18 on macOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
                "Safari 18 on iOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
                "Chrome 131 on Android",
            ),
            ("curl/8.5.0", "curl"),
            ("", "Unknown browser"),
        ] {
            assert_eq!(describe(agent), expected, "{agent}");
        }
    }
}
