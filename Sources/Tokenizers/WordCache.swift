import Foundation

/// A bounded map from a word's bytes to its BPE ids, for one thread: open addressing over
/// byte and id arenas, so a lookup hashes the bytes in place and allocates nothing (a
/// dictionary keyed by [UInt8] made an array per lookup, and one shared cache behind a lock
/// kept the encoding threads waiting on each other). When full it starts over empty.
final class WordCache {
    private struct Slot {
        var hash: UInt64 = 0
        var keyStart: Int32 = -1 // -1: empty
        var keyCount: Int32 = 0
        var idStart: Int32 = 0
        var idCount: Int32 = 0
    }

    private var slots: [Slot]
    private var keys: [UInt8] = []
    private var ids: [Int32] = []
    private var count = 0
    private var mask: Int
    /// The slot count it grows to (doubling from a small start, so a thread that encodes little
    /// holds little); past half of that, and past the arena sizes, it is emptied.
    private let maxSlots: Int
    private static let maxKeyBytes = 1 << 20
    private static let maxIDs = 1 << 18
    /// Words longer than this are not cached: they rarely repeat and would crowd the arenas.
    static let maxWordBytes = 256

    init(capacity: Int = 1 << 15) {
        var size = 16
        while size < capacity { size <<= 1 }
        maxSlots = size
        let start = min(size, 1024)
        slots = [Slot](repeating: Slot(), count: start)
        mask = start - 1
    }

    @inline(__always)
    private static func hash(_ word: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 // FNV-1a
        for b in word { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h ^ (h >> 29)
    }

    /// Appends the cached ids of `word` to `out`; false when the word is not cached.
    func append(_ word: UnsafeBufferPointer<UInt8>, to out: inout [Int32]) -> Bool {
        let h = Self.hash(word)
        let found: Slot? = slots.withUnsafeBufferPointer { slots in
            keys.withUnsafeBufferPointer { keys in
                var i = Int(truncatingIfNeeded: h) & mask
                while true {
                    let s = slots[i]
                    if s.keyStart < 0 { return nil }
                    if s.hash == h, Int(s.keyCount) == word.count,
                       memcmp(keys.baseAddress! + Int(s.keyStart), word.baseAddress!, word.count) == 0 { return s }
                    i = (i + 1) & mask
                }
            }
        }
        guard let s = found else { return false }
        ids.withUnsafeBufferPointer { out.append(contentsOf: UnsafeBufferPointer(rebasing: $0[Int(s.idStart)..<Int(s.idStart + s.idCount)])) }
        return true
    }

    func insert(_ word: UnsafeBufferPointer<UInt8>, _ wordIDs: some Collection<Int32>) {
        guard word.count <= Self.maxWordBytes, !word.isEmpty else { return }
        if count >= slots.count / 2 {
            if slots.count < maxSlots {
                grow()
            } else {
                clear()
            }
        }
        if keys.count + word.count > Self.maxKeyBytes || ids.count + wordIDs.count > Self.maxIDs { clear() }
        let h = Self.hash(word)
        place(Slot(hash: h, keyStart: Int32(keys.count), keyCount: Int32(word.count), idStart: Int32(ids.count), idCount: Int32(wordIDs.count)))
        keys.append(contentsOf: word)
        ids.append(contentsOf: wordIDs)
        count += 1
    }

    private func place(_ slot: Slot) {
        var i = Int(truncatingIfNeeded: slot.hash) & mask
        while slots[i].keyStart >= 0 { i = (i + 1) & mask }
        slots[i] = slot
    }

    private func grow() {
        let old = slots
        slots = [Slot](repeating: Slot(), count: old.count * 2)
        mask = slots.count - 1
        for s in old where s.keyStart >= 0 { place(s) }
    }

    private func clear() {
        for j in slots.indices { slots[j].keyStart = -1 }
        keys.removeAll(keepingCapacity: true)
        ids.removeAll(keepingCapacity: true)
        count = 0
    }
}

/// One WordCache per thread for one model, through a pthread key. The caches are owned here
/// (the key only points at them), so they go when the model goes; a thread's slot then reads
/// nil again, as glibc and Darwin do for a deleted key. bcsft encodes on pooled threads
/// (Dispatch, Swift concurrency), so the caches number at most the pool's threads.
final class ThreadWordCaches: @unchecked Sendable {
    private var key = pthread_key_t()
    /// False when the process ran out of pthread keys: words are then merged uncached.
    private let haveKey: Bool
    private var owned: [WordCache] = []
    private let lock = NSLock()

    init() { haveKey = pthread_key_create(&key, nil) == 0 }

    deinit { if haveKey { pthread_key_delete(key) } }

    /// This thread's cache, made on first use.
    var current: WordCache? {
        guard haveKey else { return nil }
        if let p = pthread_getspecific(key) { return Unmanaged<WordCache>.fromOpaque(p).takeUnretainedValue() }
        let c = WordCache()
        lock.lock()
        owned.append(c)
        lock.unlock()
        pthread_setspecific(key, Unmanaged.passUnretained(c).toOpaque())
        return c
    }
}
