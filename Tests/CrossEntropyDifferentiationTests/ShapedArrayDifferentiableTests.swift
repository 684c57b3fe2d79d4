#if Differentiation
  import _Differentiation
  import CrossEntropy
  import CrossEntropyDifferentiation
  import Testing

  @Suite struct ShapedArrayDifferentiableTests {
    let a = try! ShapedArray<Double>(shape: [2, 2], scalars: [1, 2, 3, 4])
    let b = try! ShapedArray<Double>(shape: [2, 2], scalars: [0.5, -1, 2, 0])

    @Test func zeroIsTheIdentityForEveryShape() {
      #expect(ShapedArray<Double>.zero == ShapedArray(scalar: 0))
      #expect(a + .zero == a)
      #expect(.zero + a == a)
      #expect(a - .zero == a)
      #expect(ShapedArray<Double>.zero + .zero == .zero)
      #expect((.zero - a).scalars == [-1, -2, -3, -4])
      #expect((.zero - a).shape == [2, 2])
    }

    @Test func elementwiseArithmetic() {
      #expect((a + b).scalars == [1.5, 1, 5, 4])
      #expect((a - b).scalars == [0.5, 3, 1, 4])
      #expect((a + b).shape == [2, 2])
      var sum = a
      sum += b
      #expect(sum == a + b)
    }

    @Test func zeroDimensionalArraysBroadcast() {
      let two = ShapedArray<Double>(scalar: 2)
      #expect((a + two).scalars == [3, 4, 5, 6])
      #expect((a - two).scalars == [-1, 0, 1, 2])
      #expect((two - a).scalars == [1, 0, -1, -2])
      #expect((two - a).shape == [2, 2])
    }

    @Test func moveKeepsTheShape() {
      var moved = a
      moved.move(by: b)
      #expect(moved == a + b)
      moved.move(by: .zero)
      #expect(moved == a + b)
      moved.move(by: ShapedArray(scalar: 1))
      #expect(moved.scalars == [2.5, 2, 6, 5])
    }

    /// A function that ignores its input has the broadcasting zero as its gradient.
    @Test func unusedInputGetsTheZeroTangent() {
      let g = gradient(at: a) { _ in 3.0 }
      #expect(g == .zero)
    }
  }
#endif
