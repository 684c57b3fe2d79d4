/// A row-major multi-dimensional array: a shape and its scalars.
///
/// This is the package's array-in, array-out currency type. It owns its storage; the losses also
/// have forms that work over caller-owned buffers without copying.
///
/// ```swift
/// let logits = try ShapedArray<Float>(shape: [2, 3], scalars: [1, 2, 3, 1, 0, -1])
/// let labels = try ShapedArray<Int>(shape: [2], scalars: [2, 0])
/// ```
public struct ShapedArray<Scalar> {
  /// The extent of each axis, outermost first. An empty shape is a scalar (one element).
  public let shape: [Int]
  /// The elements in row-major (C) order. Its count is the product of ``shape``.
  public private(set) var scalars: [Scalar]

  /// Creates an array from a shape and its scalars in row-major order.
  ///
  /// - Parameters:
  ///   - shape: The extent of each axis; every extent must be non-negative.
  ///   - scalars: The elements, as many as the product of `shape`.
  /// - Throws: ``LossError`` of kind `shapeMismatch` when the counts disagree or an extent is
  ///   negative.
  public init(shape: [Int], scalars: [Scalar]) throws(LossError) {
    let count = try elementCount(of: shape, name: "shape")
    guard count == scalars.count else {
      throw .shapeMismatch(
        "shape \(describe(shape: shape)) holds \(describe(elementCount: count)) but \(scalars.count) were given"
      )
    }
    self.shape = shape
    self.scalars = scalars
  }

  /// Creates a 0-dimensional array holding one scalar.
  ///
  /// - Parameter scalar: The single element.
  public init(scalar: Scalar) {
    self.shape = []
    self.scalars = [scalar]
  }

  /// Creates a one-dimensional array.
  ///
  /// - Parameter scalars: The elements; the shape is `[scalars.count]`.
  public init(_ scalars: [Scalar]) {
    self.shape = [scalars.count]
    self.scalars = scalars
  }

  init(uncheckedShape shape: [Int], scalars: [Scalar]) {
    assert(shape.reduce(1, *) == scalars.count)
    self.shape = shape
    self.scalars = scalars
  }

  /// The number of axes.
  public var rank: Int { shape.count }

  /// The only element of a 0-dimensional or one-element array, or `nil` for any other array.
  ///
  /// Reduced losses (`.mean`, `.sum`) are 0-dimensional, so `loss.scalar!` reads their value.
  public var scalar: Scalar? { scalars.count == 1 ? scalars[0] : nil }

  /// Calls `body` with a buffer over the elements.
  ///
  /// - Parameter body: A closure that reads the elements.
  /// - Returns: What `body` returns.
  public func withUnsafeBufferPointer<R, E>(
    _ body: (UnsafeBufferPointer<Scalar>) throws(E) -> R
  ) throws(E) -> R {
    let result: Result<R, E> = scalars.withUnsafeBufferPointer { buffer in
      do throws(E) { return .success(try body(buffer)) } catch { return .failure(error) }
    }
    return try result.get()
  }

  /// Calls `body` with a mutable buffer over the elements.
  ///
  /// - Parameter body: A closure that may change the elements (but not their count).
  /// - Returns: What `body` returns.
  public mutating func withUnsafeMutableBufferPointer<R, E>(
    _ body: (UnsafeMutableBufferPointer<Scalar>) throws(E) -> R
  ) throws(E) -> R {
    let result: Result<R, E> = scalars.withUnsafeMutableBufferPointer { buffer in
      do throws(E) { return .success(try body(buffer)) } catch { return .failure(error) }
    }
    return try result.get()
  }
}

extension ShapedArray: Sendable where Scalar: Sendable {}
extension ShapedArray: Equatable where Scalar: Equatable {}
extension ShapedArray: Hashable where Scalar: Hashable {}

extension ShapedArray: CustomStringConvertible {
  /// A description showing the shape and the elements.
  public var description: String {
    "ShapedArray(shape: \(describe(shape: shape)), \(scalars))"
  }
}

/// The number of elements of a shape, or an error naming `name` if an extent is negative or the
/// product overflows.
func elementCount(of shape: [Int], name: String) throws(LossError) -> Int {
  var count = 1
  for extent in shape {
    guard extent >= 0 else {
      throw .shapeMismatch("\(name) \(describe(shape: shape)) has a negative extent \(extent)")
    }
    let (product, overflow) = count.multipliedReportingOverflow(by: extent)
    guard !overflow else {
      throw .shapeMismatch("\(name) \(describe(shape: shape)) has too many elements")
    }
    count = product
  }
  return count
}
