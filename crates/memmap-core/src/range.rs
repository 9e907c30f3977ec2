//! Page rounding, the library's business rather than the caller's.

/// Rounds `[start, end)`, relative to a mapping at address `base`, outward to whole pages.
///
/// Returns `(offset, length)` relative to `base`; the offset is negative when `base` itself is
/// not page aligned (a mapping at an unaligned file offset starts inside a page).
pub fn page_range(base: usize, start: usize, end: usize, page: usize) -> (isize, usize) {
    debug_assert!(page.is_power_of_two() && start <= end);
    let first = (base + start) & !(page - 1);
    let last = (base + end + page - 1) & !(page - 1);
    let length = if end == start { 0 } else { last - first };
    (first as isize - base as isize, length)
}

#[cfg(test)]
mod tests {
    use super::page_range;

    #[test]
    fn rounds_outward() {
        assert_eq!(page_range(4096, 1, 2, 4096), (0, 4096));
        assert_eq!(page_range(4096 + 100, 0, 10, 4096), (-100, 4096));
        assert_eq!(page_range(4096, 4095, 4097, 4096), (0, 8192));
        assert_eq!(page_range(4096, 5, 5, 4096), (0, 0));
    }
}
