//! Uploaded images kept in memory, so a popular picture is not read from PostgreSQL (up to
//! 10 MB) for every reader. An image is named by its content's hash and never changes, so
//! nothing here is ever invalidated: the least recently used images make room for others.

use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use axum::body::Bytes;

#[derive(Clone)]
pub struct CachedImage {
    pub content_type: String,
    pub bytes: Bytes,
    last_used: u64,
}

/// The images of one process. `capacity` is in bytes (0 turns it off); one image may take at
/// most an eighth of it, so a few large photos cannot push everything else out.
pub struct MediaCache {
    capacity: usize,
    store: Mutex<Store>,
    clock: AtomicU64,
}

#[derive(Default)]
struct Store {
    images: HashMap<String, CachedImage>,
    bytes: usize,
}

impl MediaCache {
    /// Whether it keeps anything (a capacity of 0 turns it off).
    pub fn is_on(&self) -> bool {
        self.capacity > 0
    }

    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            store: Mutex::new(Store::default()),
            clock: AtomicU64::new(0),
        }
    }

    pub fn get(&self, hash: &str) -> Option<(String, Bytes)> {
        let mut store = self.store.lock().ok()?;
        let image = store.images.get_mut(hash)?;
        image.last_used = self.clock.fetch_add(1, Ordering::Relaxed);
        Some((image.content_type.clone(), image.bytes.clone()))
    }

    /// Forgets an image that was deleted, and its smaller copies (`{hash}-{width}.{ext}`).
    pub fn remove(&self, hash: &str) {
        let Ok(mut store) = self.store.lock() else {
            return;
        };
        let gone: Vec<String> = store
            .images
            .keys()
            .filter(|key| key.starts_with(hash))
            .cloned()
            .collect();
        for key in gone {
            if let Some(image) = store.images.remove(&key) {
                store.bytes -= image.bytes.len() + key.len() + image.content_type.len();
            }
        }
    }

    pub fn insert(&self, hash: &str, content_type: &str, bytes: Bytes) {
        let cost = bytes.len() + hash.len() + content_type.len();
        if cost > self.capacity / 8 {
            return;
        }
        let Ok(mut store) = self.store.lock() else {
            return;
        };
        let image = CachedImage {
            content_type: content_type.to_owned(),
            bytes,
            last_used: self.clock.fetch_add(1, Ordering::Relaxed),
        };
        if let Some(old) = store.images.insert(hash.to_owned(), image) {
            store.bytes -= old.bytes.len() + hash.len() + old.content_type.len();
        }
        store.bytes += cost;
        if store.bytes > self.capacity {
            let mut by_age: Vec<(u64, String)> = store
                .images
                .iter()
                .map(|(hash, image)| (image.last_used, hash.clone()))
                .collect();
            by_age.sort_unstable();
            for (_, hash) in by_age {
                if store.bytes <= self.capacity * 3 / 4 {
                    break;
                }
                if let Some(image) = store.images.remove(&hash) {
                    store.bytes -= image.bytes.len() + hash.len() + image.content_type.len();
                }
            }
        }
    }

    /// Bytes held, for tests and metrics.
    pub fn len_bytes(&self) -> usize {
        self.store.lock().map(|s| s.bytes).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(size: usize) -> Bytes {
        Bytes::from(vec![7u8; size])
    }

    #[test]
    fn keeps_images_within_its_size_and_drops_the_least_recently_used() {
        let cache = MediaCache::new(8_000);
        cache.insert("a", "image/png", image(900));
        cache.insert("b", "image/png", image(900));
        // Filling it past its size forgets "b", never read, and keeps "a", read all along.
        for n in 0..7 {
            assert!(cache.get("a").is_some());
            cache.insert(&format!("c{n}"), "image/png", image(900));
        }
        assert!(cache.len_bytes() <= 8_000);
        assert!(cache.get("b").is_none());
        assert!(cache.get("a").is_some());
        // Too large for one entry (more than an eighth): served from the database each time.
        cache.insert("big", "image/jpeg", image(1_100));
        assert!(cache.get("big").is_none());
        // The same name twice counts once, at its latest size.
        let before = cache.len_bytes();
        cache.insert("a", "image/png", image(900));
        assert_eq!(cache.len_bytes(), before);
        cache.insert("a", "image/png", image(950));
        assert_eq!(cache.len_bytes(), before + 50);
    }

    #[test]
    fn keeps_nothing_when_off() {
        let cache = MediaCache::new(0);
        cache.insert("a", "image/png", image(10));
        assert!(cache.get("a").is_none());
        assert_eq!(cache.len_bytes(), 0);
    }
}
