"""LLVM intrinsics the CPU kernels need and Numba does not offer: a cache
prefetch hint and arrays on the stack.

Loops in the kernels index with unsigned integers (``U1``, ``U2``) or from 0:
with a signed index of unknown sign Numba keeps its negative-index
wraparound, and LLVM then does not vectorise. They take whole arrays plus
offsets, never slices: a slice updates the array's reference count
atomically, and with many short lines two cores fighting over that counter
cost more than the arithmetic.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

#: unsigned offsets 1 and 2 (see the module docstring)
U1 = np.uint64(1)
U2 = np.uint64(2)


def read_only(x):
    """A read-only view of ``x``, no copy: every kernel reads its input as a
    read-only array, so Numba compiles one variant for writable and
    read-only input alike, and a kernel that wrote its input would not
    compile."""
    if not x.flags.writeable:
        return x
    view = x.view()
    view.flags.writeable = False
    return view


@intrinsic
def prefetch(typingctx, arr, index):
    """Ask the cache for the line that holds ``arr[index]`` (``index`` a
    tuple, in bounds): a hint, with no effect on any result. A fill loop that
    runs at full speed from L1 otherwise finds the hardware prefetcher too
    little ahead of it."""

    def codegen(context, builder, signature, args):
        array_type, index_type = signature.args
        array = context.make_array(array_type)(context, builder, args[0])
        indices = cgutils.unpack_tuple(builder, args[1], len(index_type))
        ptr = cgutils.get_item_pointer(context, builder, array_type, array, indices, wraparound=False)
        ptr = builder.bitcast(ptr, cgutils.voidptr_t)
        i32 = ir.IntType(32)
        # declare_intrinsic names it for the LLVM at hand (llvm.prefetch.p0i8
        # with typed pointers, llvm.prefetch.p0 with opaque ones)
        fn = builder.module.declare_intrinsic(
            "llvm.prefetch", [cgutils.voidptr_t], ir.FunctionType(ir.VoidType(), [cgutils.voidptr_t, i32, i32, i32])
        )
        builder.call(fn, [ptr, i32(0), i32(3), i32(1)])  # read, keep in every level, data
        return context.get_dummy_value()

    return types.void(arr, index), codegen


@intrinsic
def stack_array(typingctx, like, size):
    """A C array of ``size`` (a literal) elements of ``like``'s dtype on the
    stack of the function it is inlined into: no allocation, and LLVM
    promotes it to registers once the loops over it are unrolled."""
    if not isinstance(size, types.IntegerLiteral):
        return None  # Numba retries with the literal
    dtype = like.dtype if isinstance(like, types.Array) else like
    array_type = types.Array(dtype, 1, "C")

    def codegen(context, builder, signature, args):
        item = context.get_value_type(dtype)
        data = cgutils.alloca_once(builder, item, size=size.literal_value)
        array = context.make_array(array_type)(context, builder)
        itemsize = context.get_constant(types.intp, context.get_abi_sizeof(item))
        context.populate_array(array, data=data, shape=[context.get_constant(types.intp, size.literal_value)],
                               strides=[itemsize], itemsize=itemsize, meminfo=None)
        return array._getvalue()

    return array_type(like, size), codegen
