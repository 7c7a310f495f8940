/// A URL slug made from a title, the way Blogger makes them: lowercase ASCII words joined by
/// hyphens, cut at a word boundary near 40 characters. Empty when the title has no ASCII word.
pub fn slugify(title: &str) -> String {
    const MAX: usize = 40;
    let mut slug = String::new();
    for word in title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let extra = if slug.is_empty() {
            word.len()
        } else {
            word.len() + 1
        };
        if !slug.is_empty() && slug.len() + extra > MAX {
            break;
        }
        if !slug.is_empty() {
            slug.push('-');
        }
        slug.push_str(&word.to_ascii_lowercase());
    }
    // Only a single word can be longer; slugs are ASCII, so any cut is on a char boundary.
    slug.truncate(MAX);
    slug
}

/// The public path of a post: `/yyyy/mm/slug.html` (the month is the blog's local month).
pub fn post_path(year: i16, month: i8, slug: &str) -> String {
    format!("/{year:04}/{month:02}/{slug}.html")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_short_lowercase_words() {
        assert_eq!(slugify("Hello, World!"), "hello-world");
        assert_eq!(
            slugify("Pruning the old pear tree before the first frost of the year"),
            "pruning-the-old-pear-tree-before-the"
        );
        assert_eq!(slugify("Ünïcode — only"), "n-code-only");
        assert_eq!(slugify("¿¡!"), "");
        assert_eq!(post_path(2021, 9, "x"), "/2021/09/x.html");
    }
}
