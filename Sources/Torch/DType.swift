import CTorch

/// Element types the shim supports.
public enum DType: Sendable, CaseIterable, CustomStringConvertible {
    case float32, float16, bfloat16, float64, int32, int64, bool, uint8

    var raw: ct_dtype {
        switch self {
        case .float32: CT_FLOAT32
        case .float16: CT_FLOAT16
        case .bfloat16: CT_BFLOAT16
        case .float64: CT_FLOAT64
        case .int32: CT_INT32
        case .int64: CT_INT64
        case .bool: CT_BOOL
        case .uint8: CT_UINT8
        }
    }

    init(raw: ct_dtype) {
        switch raw {
        case CT_FLOAT16: self = .float16
        case CT_BFLOAT16: self = .bfloat16
        case CT_FLOAT64: self = .float64
        case CT_INT32: self = .int32
        case CT_INT64: self = .int64
        case CT_BOOL: self = .bool
        case CT_UINT8: self = .uint8
        default: self = .float32
        }
    }

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .float32, .int32: 4
        case .float16, .bfloat16: 2
        case .float64, .int64: 8
        case .bool, .uint8: 1
        }
    }

    public var isFloatingPoint: Bool { [.float32, .float16, .bfloat16, .float64].contains(self) }

    /// The names used by safetensors and HF config files.
    public var description: String {
        switch self {
        case .float32: "F32"
        case .float16: "F16"
        case .bfloat16: "BF16"
        case .float64: "F64"
        case .int32: "I32"
        case .int64: "I64"
        case .bool: "BOOL"
        case .uint8: "U8"
        }
    }
}

/// Element types that can be copied between Swift arrays and tensors.
public protocol TensorElement: Sendable {
    static var dtype: DType { get }
    init()
}
extension Float: TensorElement { public static var dtype: DType { .float32 } }
extension Double: TensorElement { public static var dtype: DType { .float64 } }
extension Int32: TensorElement { public static var dtype: DType { .int32 } }
extension Int64: TensorElement { public static var dtype: DType { .int64 } }
extension UInt8: TensorElement { public static var dtype: DType { .uint8 } }
extension Bool: TensorElement { public static var dtype: DType { .bool } }
