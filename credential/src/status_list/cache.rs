//! A cache of verified status lists keyed by URI that says when a list must be fetched again,
//! from the token's `ttl` and `exp` and a caller's HTTP max-age (draft-ietf-oauth-status-list,
//! "Validation Rules" step 4.4, "Status List Response" and "Status List Caching"). Pure logic:
//! the caller fetches, verifies and passes the time in.

use std::collections::HashMap;

use super::VerifiedStatusList;
use crate::clock::UnixTime;

/// What the cache holds for a URI at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheLookup<'a> {
    /// Within its `ttl` (or max-age) and not expired: use it.
    Fresh(&'a VerifiedStatusList),
    /// Past its refresh time but not past `exp`: fetch a fresh copy; this one may still serve
    /// as a fallback if the fetch fails ("a fresh copy SHOULD be retrieved").
    Stale(&'a VerifiedStatusList),
    /// Nothing usable: never cached, or the cached token's `exp` has passed.
    Missing,
}

#[derive(Debug, Clone)]
struct Entry {
    list: VerifiedStatusList,
    refresh_at: UnixTime,
}

/// Verified status lists by URI (their `sub`), each with the time it must be refetched.
#[derive(Debug, Clone)]
pub struct StatusListCache {
    entries: HashMap<String, Entry>,
    default_max_age: u64,
    max_entries: usize,
}

impl StatusListCache {
    /// A cache of at most `max_entries` lists; `default_max_age` (seconds) applies to a token
    /// that has no `ttl` when the caller has no HTTP max-age either.
    pub fn new(default_max_age: u64, max_entries: usize) -> Self {
        StatusListCache { entries: HashMap::new(), default_max_age, max_entries }
    }

    /// When a list fetched at `fetched_at` must be fetched again. The token's `ttl` wins over
    /// `http_max_age` ("Relying Parties SHOULD prioritize the exp and ttl claims within the Status
    /// List Token over the HTTP headers"); the default applies when neither is given; and it is
    /// never later than `exp`.
    pub fn refresh_time(
        &self,
        list: &VerifiedStatusList,
        fetched_at: UnixTime,
        http_max_age: Option<u64>,
    ) -> UnixTime {
        let max_age = list.ttl.or(http_max_age).unwrap_or(self.default_max_age);
        let by_age = fetched_at.saturating_add(i64::try_from(max_age).unwrap_or(i64::MAX));
        match list.exp {
            Some(exp) => by_age.min(exp),
            None => by_age,
        }
    }

    /// Stores a verified list under its `sub`, replacing any older copy, and returns the time it
    /// must be refetched. When the cache is full, expired entries go first, then the entry due
    /// soonest.
    pub fn insert(
        &mut self,
        list: VerifiedStatusList,
        fetched_at: UnixTime,
        http_max_age: Option<u64>,
    ) -> UnixTime {
        let refresh_at = self.refresh_time(&list, fetched_at, http_max_age);
        if self.max_entries == 0 {
            return refresh_at;
        }
        if !self.entries.contains_key(&list.sub) && self.entries.len() >= self.max_entries {
            self.purge_expired(fetched_at);
            if self.entries.len() >= self.max_entries {
                let soonest =
                    self.entries.iter().min_by_key(|(_, entry)| entry.refresh_at).map(|(uri, _)| uri.clone());
                if let Some(uri) = soonest {
                    self.entries.remove(&uri);
                }
            }
        }
        self.entries.insert(list.sub.clone(), Entry { list, refresh_at });
        refresh_at
    }

    /// What the cache holds for `uri` at `now`.
    pub fn lookup(&self, uri: &str, now: UnixTime) -> CacheLookup<'_> {
        let Some(entry) = self.entries.get(uri) else { return CacheLookup::Missing };
        // An expired Status List Token is never used, fresh or not.
        if entry.list.exp.is_some_and(|exp| now >= exp) {
            return CacheLookup::Missing;
        }
        // "retrieve a fresh copy if (time status was resolved + ttl < current time)"
        if now >= entry.refresh_at {
            CacheLookup::Stale(&entry.list)
        } else {
            CacheLookup::Fresh(&entry.list)
        }
    }

    /// The list for `uri` if it is fresh at `now`.
    pub fn get(&self, uri: &str, now: UnixTime) -> Option<&VerifiedStatusList> {
        match self.lookup(uri, now) {
            CacheLookup::Fresh(list) => Some(list),
            CacheLookup::Stale(_) | CacheLookup::Missing => None,
        }
    }

    /// True when the list for `uri` must be (re)fetched at `now`.
    pub fn needs_refetch(&self, uri: &str, now: UnixTime) -> bool {
        !matches!(self.lookup(uri, now), CacheLookup::Fresh(_))
    }

    /// When the list for `uri` is due for refetching, if cached.
    pub fn refresh_at(&self, uri: &str) -> Option<UnixTime> {
        self.entries.get(uri).map(|entry| entry.refresh_at)
    }

    /// Drops the list for `uri`.
    pub fn remove(&mut self, uri: &str) -> Option<VerifiedStatusList> {
        self.entries.remove(uri).map(|entry| entry.list)
    }

    /// Drops every list whose `exp` has passed at `now`.
    pub fn purge_expired(&mut self, now: UnixTime) {
        self.entries.retain(|_, entry| entry.list.exp.is_none_or(|exp| now < exp));
    }

    /// Number of cached lists.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status_list::{Bits, StatusList};

    fn verified(sub: &str, exp: Option<UnixTime>, ttl: Option<u64>) -> VerifiedStatusList {
        VerifiedStatusList {
            sub: sub.into(),
            iss: None,
            iat: 1_000,
            exp,
            ttl,
            aggregation_uri: None,
            list: StatusList::new(Bits::One, 8).unwrap(),
        }
    }

    #[test]
    fn ttl_wins_over_http_max_age_and_exp_caps_both() {
        let cache = StatusListCache::new(300, 10);
        assert_eq!(cache.refresh_time(&verified("a", None, Some(100)), 1_000, Some(50)), 1_100);
        assert_eq!(cache.refresh_time(&verified("a", None, None), 1_000, Some(50)), 1_050);
        assert_eq!(cache.refresh_time(&verified("a", None, None), 1_000, None), 1_300);
        assert_eq!(cache.refresh_time(&verified("a", Some(1_020), Some(100)), 1_000, None), 1_020);
        assert_eq!(cache.refresh_time(&verified("a", None, Some(u64::MAX)), 1_000, None), i64::MAX);
    }

    #[test]
    fn fresh_then_stale_then_gone_at_exp() {
        let mut cache = StatusListCache::new(300, 10);
        let uri = "https://example.com/sl/1";
        assert_eq!(cache.insert(verified(uri, Some(2_000), Some(100)), 1_000, None), 1_100);
        assert!(matches!(cache.lookup(uri, 1_099), CacheLookup::Fresh(_)));
        assert!(!cache.needs_refetch(uri, 1_099));
        assert!(matches!(cache.lookup(uri, 1_100), CacheLookup::Stale(_)));
        assert!(cache.needs_refetch(uri, 1_100));
        assert!(cache.get(uri, 1_100).is_none());
        assert_eq!(cache.lookup(uri, 2_000), CacheLookup::Missing);
        assert_eq!(cache.lookup("https://other", 1_000), CacheLookup::Missing);
        // A refetch replaces the entry and moves the refresh time.
        cache.insert(verified(uri, Some(3_000), Some(100)), 1_500, None);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.refresh_at(uri), Some(1_600));
    }

    #[test]
    fn full_cache_evicts_expired_then_soonest() {
        let mut cache = StatusListCache::new(300, 2);
        cache.insert(verified("a", Some(1_010), None), 1_000, None);
        cache.insert(verified("b", None, Some(500)), 1_000, None);
        cache.insert(verified("c", None, Some(50)), 1_020, None);
        assert!(cache.refresh_at("a").is_none(), "expired entry evicted first");
        cache.insert(verified("d", None, Some(400)), 1_030, None);
        assert!(cache.refresh_at("c").is_none(), "entry due soonest evicted next");
        assert_eq!(cache.len(), 2);
        assert!(cache.remove("b").is_some());
        cache.purge_expired(i64::MAX);
        assert_eq!(cache.len(), 1);
    }
}
