@testable import Tokenizers
import XCTest

/// The per-thread word cache gives back what was stored or nothing, through collisions and the
/// resets that bound it.
final class WordCacheTests: XCTestCase {
    func lookup(_ cache: WordCache, _ word: [UInt8]) -> [Int32]? {
        var out: [Int32] = [7] // something already there stays in front
        let hit = word.withUnsafeBufferPointer { cache.append($0, to: &out) }
        XCTAssertEqual(out.first, 7)
        return hit ? Array(out.dropFirst()) : nil
    }

    func testHitsAreExactThroughResets() {
        let cache = WordCache(capacity: 2048) // grows from 1024 slots to 2048, then starts over at 1024 entries
        var rng = SystemRandomNumberGenerator()
        var stored: [[UInt8]: [Int32]] = [:]
        var hits = 0
        for i in 0..<20000 {
            let word = (0..<Int.random(in: 1...7, using: &rng)).map { _ in UInt8.random(in: 97...100, using: &rng) }
            if let got = lookup(cache, word) {
                XCTAssertEqual(got, stored[word], "word \(word)")
                hits += 1
            } else {
                let ids = (0..<word.count).map { _ in Int32(i) }
                word.withUnsafeBufferPointer { cache.insert($0, ids) }
                stored[word] = ids
                XCTAssertEqual(lookup(cache, word), ids)
            }
        }
        XCTAssertGreaterThan(hits, 0)
    }

    func testLongAndEmptyWordsAreNotCached() {
        let cache = WordCache()
        let long = [UInt8](repeating: 120, count: WordCache.maxWordBytes + 1)
        long.withUnsafeBufferPointer { cache.insert($0, [1, 2]) }
        XCTAssertNil(lookup(cache, long))
        [UInt8]().withUnsafeBufferPointer { cache.insert($0, [3]) }
        XCTAssertNil(lookup(cache, []))
        XCTAssertNil(lookup(cache, [120]))
    }
}
