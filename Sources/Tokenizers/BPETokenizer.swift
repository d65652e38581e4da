import Common
import Crypto
import Foundation

/// A Hugging Face `tokenizer.json` byte-level BPE tokenizer (Llama 3, Qwen2/2.5/3, GPT-style):
/// added tokens split out first, then the normalizer, the pre-tokenizer's regex splits, byte-level
/// BPE, and on request the post-processor's special tokens. Parts bcsft does not implement are
/// refused with their JSON path, never approximated.
public final class BPETokenizer: Tokenizer, @unchecked Sendable {
    /// The name a model folder gives the file.
    public static let fileName = "tokenizer.json"
    /// The file beside it that names bos/eos/pad (transformers' layout).
    public static let configFileName = "tokenizer_config.json"

    /// The tokenizer.json bytes, hashed and copied into datasets and checkpoints.
    public let fileData: Data
    /// The tokenizer_config.json bytes it was built with: they name bos/eos/pad, so they travel with it.
    public let configData: Data?
    public let sha256: String
    public let vocabularySize: Int
    public let bosID: Int32?
    public let eosID: Int32?
    public let padID: Int32?
    public let unknownID: Int32?

    let model: BPEModel
    let addedTokens: [AddedToken]
    let addedByID: [Int32: AddedToken]
    let addedByContent: [String: Int32]
    /// Added tokens with normalized == false, matched on the raw text.
    let rawMatcher: AddedTokenMatcher
    /// Added tokens with normalized == true, matched on the normalized text.
    let normalizedMatcher: AddedTokenMatcher
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer
    let postProcessor: PostProcessor
    let decoder: Decoder

    /// Loads a tokenizer.json, and the tokenizer_config.json beside it when there is one.
    public convenience init(contentsOf url: URL) throws {
        func read(_ u: URL) throws -> Data {
            do {
                try FileCheck.readable(u)
                return try Data(contentsOf: u)
            } catch let FileError.cannotRead(_, reason) {
                throw TokenizerError.cannotLoad(path: u.path, reason: reason)
            } catch {
                throw TokenizerError.cannotLoad(path: u.path, reason: "cannot read file (\(error.localizedDescription))")
            }
        }
        let configURL = url.deletingLastPathComponent().appendingPathComponent(Self.configFileName)
        let config = FileManager.default.fileExists(atPath: configURL.path) ? try read(configURL) : nil
        try self.init(json: try read(url), source: url.path, config: config, configSource: configURL.path)
    }

    /// Builds a tokenizer from tokenizer.json bytes; `config` is a tokenizer_config.json's bytes,
    /// whose bos_token/eos_token/pad_token/unk_token name the special ids. Without one, BOS is
    /// the post-processor's leading special token and unk the model's unk_token.
    public init(json: Data, source: String = "tokenizer.json", config: Data? = nil, configSource: String = "tokenizer_config.json") throws {
        let root = try JSONNode.parse(json, file: source)
        _ = try root.object()
        for field in ["truncation", "padding"] where !root[field].isNull {
            throw root[field].unsupported("\(field) in the tokenizer (bcsft truncates and pads its sequences itself)")
        }
        preTokenizer = try PreTokenizer(root["pre_tokenizer"])
        guard preTokenizer.byteLevel else {
            throw root["pre_tokenizer"].unsupported("a pre-tokenizer without ByteLevel (bcsft implements byte-level BPE only)")
        }
        normalizer = root["normalizer"].isNull ? nil : try Normalizer(root["normalizer"])
        model = try BPEModel(root["model"])
        addedTokens = try root["added_tokens"].isNull ? [] : root["added_tokens"].array().map(AddedToken.init)
        addedByID = Dictionary(addedTokens.map { ($0.id, $0) }, uniquingKeysWith: { $1 })
        addedByContent = Dictionary(addedTokens.map { ($0.content, $0.id) }, uniquingKeysWith: { $1 })
        rawMatcher = AddedTokenMatcher(addedTokens.filter { !$0.normalized }) { $0.content }
        normalizedMatcher = AddedTokenMatcher(addedTokens.filter(\.normalized)) { [normalizer] in normalizer?.apply($0.content) ?? $0.content }
        decoder = root["decoder"].isNull ? .joinWithSpaces : try Decoder(root["decoder"])

        let maxID = max(model.pieces.keys.max() ?? -1, addedTokens.map(\.id).max() ?? -1)
        vocabularySize = Int(maxID) + 1
        let knownIDs = Set(model.pieces.keys).union(addedByID.keys)
        postProcessor = root["post_processor"].isNull ? .sequence([]) : try PostProcessor(root["post_processor"], known: knownIDs)

        fileData = json
        configData = config
        sha256 = SHA256.hash(data: json).map { String(format: "%02x", $0) }.joined()

        var names: [String: (JSONNode, String)] = [:]
        if let config {
            let c = try JSONNode.parse(config, file: configSource)
            for key in ["bos_token", "eos_token", "pad_token", "unk_token"] where !c[key].isNull {
                // transformers writes either the content or an AddedToken object holding it.
                let name = c[key].value is String ? try c[key].string() : try c[key]["content"].string()
                names[key] = (c[key], name)
            }
        }
        let (added, vocab) = (addedByContent, model.vocab)
        func id(_ key: String) throws -> Int32? {
            guard let (node, name) = names[key] else { return nil }
            guard let id = added[name] ?? vocab[ByteLevel.bytes(of: name) ?? []] else {
                throw node.malformed("\(name) is not a token of \(source)")
            }
            return id
        }
        let leading = postProcessor.leadingSpecialID
        bosID = config == nil ? leading : try id("bos_token")
        eosID = try id("eos_token")
        padID = try id("pad_token")
        let modelUnknown = model.unknownID
        unknownID = try id("unk_token") ?? modelUnknown
    }

    public var files: [String: Data] {
        var f = [Self.fileName: fileData]
        f[Self.configFileName] = configData
        return f
    }

    public var specialPieces: [String: Int32] {
        Dictionary(addedTokens.filter(\.special).map { ($0.content, $0.id) }, uniquingKeysWith: { $1 })
    }

    public var encodeParsesSpecialPieces: Bool { true }

    /// Without the post-processor's special tokens, as SentencePiece's encode: chat templates add
    /// BOS themselves.
    public func encode(_ text: String) throws -> [Int32] { try encode(text, addSpecialTokens: false) }

    public func encode(_ text: String, addSpecialTokens: Bool) throws -> [Int32] {
        var ids: [Int32] = []
        for raw in rawMatcher.split(text) {
            guard case let .text(t) = raw else {
                if case let .token(id) = raw { ids.append(id) }
                continue
            }
            let normalized = normalizer?.apply(t) ?? t
            for seg in normalizedMatcher.split(normalized) {
                switch seg {
                case let .token(id): ids.append(id)
                case let .text(piece):
                    try preTokenizer.forEachWord(in: piece) { try model.tokenize($0, into: &ids) }
                }
            }
        }
        return addSpecialTokens ? postProcessor.apply(ids) : ids
    }

    /// Keeps special tokens, so decode(encode(t)) == t for text that holds them.
    public func decode(_ ids: [Int32]) throws -> String { try decode(ids, skipSpecialTokens: false) }

    public func decode(_ ids: [Int32], skipSpecialTokens: Bool) throws -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            if let added = addedByID[id] {
                if !(skipSpecialTokens && added.special) { tokens.append(added.content) }
            } else if let piece = model.pieces[id] {
                tokens.append(piece)
            } else {
                throw TokenizerError.unknownID(id, vocabularySize: vocabularySize)
            }
        }
        return decoder.decode(tokens)
    }

    public func id(forPiece piece: String) -> Int32? {
        if let id = addedByContent[piece] { return id }
        guard let bytes = ByteLevel.bytes(of: piece), let id = model.vocab[bytes], model.pieces[id] == piece else { return nil }
        return id
    }

    public func piece(forID id: Int32) throws -> String {
        if let added = addedByID[id] { return added.content }
        guard let piece = model.pieces[id] else { throw TokenizerError.unknownID(id, vocabularySize: vocabularySize) }
        return piece
    }

    /// Whether an id is an added token marked special (what decode(_:skipSpecialTokens:) drops).
    public func isSpecial(_ id: Int32) -> Bool { addedByID[id]?.special ?? false }
}

/// tokenizer.json's `post_processor`, as it acts on the ids of one sequence.
enum PostProcessor {
    /// TemplateProcessing's `single`: ids before and after the sequence.
    case template(prefix: [Int32], suffix: [Int32])
    case sequence([PostProcessor])

    init(_ node: JSONNode, known: Set<Int32>) throws {
        switch try node.type() {
        case "ByteLevel": self = .sequence([]) // only trims offsets; the ids stay as they are
        case "Sequence": self = .sequence(try node["processors"].array().map { try PostProcessor($0, known: known) })
        case "TemplateProcessing":
            var specials: [String: [Int32]] = [:]
            for (name, entry) in try node["special_tokens"].object() {
                let ids = try entry["ids"].array().map { n -> Int32 in
                    guard let id = Int32(exactly: try n.int()), known.contains(id) else { throw n.malformed("not a token id of this tokenizer") }
                    return id
                }
                specials[name] = ids
            }
            var prefix: [Int32] = [], suffix: [Int32] = []
            var seenSequence = false
            for item in try node["single"].array() {
                if !item["SpecialToken"].isNull {
                    let name = try item["SpecialToken"]["id"].string()
                    guard let ids = specials[name] else { throw item["SpecialToken"]["id"].malformed("\(name) is not in special_tokens") }
                    if seenSequence { suffix += ids } else { prefix += ids }
                } else if !item["Sequence"].isNull {
                    let which = try item["Sequence"]["id"].string()
                    guard which == "A", !seenSequence else { throw item["Sequence"]["id"].unsupported("a single template holds sequence A once") }
                    seenSequence = true
                } else {
                    throw item.malformed("a SpecialToken or Sequence item expected")
                }
            }
            guard seenSequence else { throw node["single"].malformed("the template never places sequence A") }
            self = .template(prefix: prefix, suffix: suffix)
        case let other:
            throw node["type"].unsupported("post-processor \(other) (bcsft implements TemplateProcessing, ByteLevel and Sequence)")
        }
    }

    func apply(_ ids: [Int32]) -> [Int32] {
        switch self {
        case let .template(prefix, suffix): prefix + ids + suffix
        case let .sequence(steps): steps.reduce(ids) { $1.apply($0) }
        }
    }

    /// The first special token the post-processor puts before the text: the model's BOS.
    var leadingSpecialID: Int32? {
        switch self {
        case let .template(prefix, _): prefix.first
        case let .sequence(steps): steps.lazy.compactMap(\.leadingSpecialID).first
        }
    }
}

/// tokenizer.json's `decoder`.
enum Decoder {
    /// No decoder: the reference joins the tokens with spaces.
    case joinWithSpaces
    /// Tokens to bytes through the byte-level alphabet (a token with a scalar outside it, such
    /// as an added token, counts as its own UTF-8), then UTF-8 with U+FFFD for invalid bytes.
    case byteLevel

    init(_ node: JSONNode) throws {
        switch try node.type() {
        case "ByteLevel": self = .byteLevel
        case "Sequence":
            let steps = try node["decoders"].array()
            guard steps.count == 1 else { throw node["decoders"].unsupported("a decoder sequence other than [ByteLevel]") }
            self = try Decoder(steps[0])
        case let other:
            throw node["type"].unsupported("decoder \(other) (bcsft implements ByteLevel)")
        }
    }

    func decode(_ tokens: [String]) -> String {
        switch self {
        case .joinWithSpaces: return tokens.joined(separator: " ")
        case .byteLevel:
            var bytes: [UInt8] = []
            for t in tokens { bytes += ByteLevel.bytes(of: t) ?? Array(t.utf8) }
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}
