import Common

extension SplitMix64 {
    /// A generator seeded from text (a problem, a prompt): the same text draws the same
    /// numbers, so the scripted world answers a prompt the same way every time.
    public init(_ parts: String...) {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325           // FNV-1a over the parts
        for p in parts {
            for b in p.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            h = (h ^ 0xff) &* 0x100_0000_01b3
        }
        self.init(seed: h)
    }
}
