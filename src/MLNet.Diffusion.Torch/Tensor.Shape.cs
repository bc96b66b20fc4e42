using MLNet.Diffusion.Torch.Interop;

namespace MLNet.Diffusion.Torch;

/// <summary>Views, reshapes, indexing, conversions and autograd members.</summary>
public sealed unsafe partial class Tensor
{
    /// <summary>Memory layouts for 4-D tensors.</summary>
    public enum MemoryFormat : sbyte
    {
        /// <summary>Row-major NCHW.</summary>
        Contiguous = 0,

        /// <summary>NHWC ("channels last"), faster for convolutions on some backends.</summary>
        ChannelsLast = 1,
    }

    /// <summary>The same data with a new shape (a view when possible, else a copy). One size may be −1.</summary>
    public Tensor Reshape(params long[] shape) => ShapeOp(&Native.mlnd_reshape, shape);

    /// <summary>A view with a new shape; fails when the layout does not allow one.</summary>
    public Tensor View(params long[] shape) => ShapeOp(&Native.mlnd_view, shape);

    /// <summary>Reorders the dimensions.</summary>
    public Tensor Permute(params long[] dims) => ShapeOp(&Native.mlnd_permute, dims);

    /// <summary>Broadcasts size-1 dimensions to <paramref name="shape"/> without copying (−1 keeps a size).</summary>
    public Tensor Expand(params long[] shape) => ShapeOp(&Native.mlnd_expand, shape);

    /// <summary>Tiles the tensor <paramref name="repeats"/> times along each dimension.</summary>
    public Tensor Repeat(params long[] repeats) => ShapeOp(&Native.mlnd_repeat, repeats);

    /// <summary>Reverses the order of elements along <paramref name="dims"/>.</summary>
    public Tensor Flip(params long[] dims) => ShapeOp(&Native.mlnd_flip, dims);

    /// <summary>Swaps two dimensions.</summary>
    public Tensor Transpose(long dim0, long dim1) => LibTorch.Wrap(Native.mlnd_transpose(LiveHandle, dim0, dim1));

    /// <summary>Merges dimensions <paramref name="startDim"/> to <paramref name="endDim"/> into one.</summary>
    public Tensor Flatten(long startDim = 0, long endDim = -1) => LibTorch.Wrap(Native.mlnd_flatten(LiveHandle, startDim, endDim));

    /// <summary>Inserts a size-1 dimension at <paramref name="dim"/>.</summary>
    public Tensor Unsqueeze(long dim) => LibTorch.Wrap(Native.mlnd_unsqueeze(LiveHandle, dim));

    /// <summary>Removes dimension <paramref name="dim"/> when its size is 1.</summary>
    public Tensor Squeeze(long dim) => LibTorch.Wrap(Native.mlnd_squeeze(LiveHandle, dim));

    /// <summary>Removes every size-1 dimension.</summary>
    public Tensor Squeeze() => LibTorch.Wrap(Native.mlnd_squeeze_all(LiveHandle));

    /// <summary>Elements <paramref name="start"/>, start+step, ... before <paramref name="end"/> along <paramref name="dim"/> (a view).</summary>
    public Tensor Slice(long dim, long start, long end, long step = 1) => LibTorch.Wrap(Native.mlnd_slice(LiveHandle, dim, start, end, step));

    /// <summary>The sub-tensor at <paramref name="index"/> along <paramref name="dim"/>, without that dimension (a view).</summary>
    public Tensor Select(long dim, long index) => LibTorch.Wrap(Native.mlnd_select(LiveHandle, dim, index));

    /// <summary><paramref name="length"/> elements from <paramref name="start"/> along <paramref name="dim"/> (a view).</summary>
    public Tensor Narrow(long dim, long start, long length) => LibTorch.Wrap(Native.mlnd_narrow(LiveHandle, dim, start, length));

    /// <summary>The sub-tensor at <paramref name="index"/> along the first dimension.</summary>
    public Tensor this[long index] => Select(0, index);

    /// <summary>Picks entries along <paramref name="dim"/> by an int64 index vector.</summary>
    public Tensor IndexSelect(long dim, Tensor index) => LibTorch.Wrap(Native.mlnd_index_select(LiveHandle, dim, Arg(index)));

    /// <summary>Gathers values along <paramref name="dim"/> at the positions in an int64 index tensor of the same rank.</summary>
    public Tensor Gather(long dim, Tensor index) => LibTorch.Wrap(Native.mlnd_gather(LiveHandle, dim, Arg(index)));

    /// <summary>Splits into at most <paramref name="chunks"/> near-equal pieces along <paramref name="dim"/> (views).</summary>
    public Tensor[] Chunk(long chunks, long dim = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunks, 1);
        var capacity = (int)Math.Min(chunks, 4096);
        var output = new IntPtr[capacity];
        int count;
        fixed (IntPtr* p = output)
        {
            count = Native.mlnd_chunk(LiveHandle, chunks, dim, p, capacity);
        }

        LibTorch.Check(count);
        var result = new Tensor[count];
        for (var i = 0; i < count; i++)
        {
            var handle = new TensorHandle();
            System.Runtime.InteropServices.Marshal.InitHandle(handle, output[i]);
            result[i] = new Tensor(handle);
        }

        return result;
    }

    /// <summary>Converts to another element type (a copy unless it already has that type).</summary>
    public Tensor To(ScalarType dtype) => LibTorch.Wrap(Native.mlnd_tensor_to_dtype(LiveHandle, (sbyte)dtype));

    /// <summary>Moves to another device (a copy unless it is already there).</summary>
    public Tensor To(Device device, bool nonBlocking = false)
    {
        device.EnsureAvailable();
        return LibTorch.Wrap(Native.mlnd_tensor_to_device(LiveHandle, (sbyte)device.Type, device.Index, Flag(nonBlocking)));
    }

    /// <summary>A copy with its own storage (recorded by autograd).</summary>
    public Tensor Clone() => LibTorch.Wrap(Native.mlnd_tensor_clone(LiveHandle));

    /// <summary>A view of the same data cut off from the autograd graph.</summary>
    public Tensor Detach() => LibTorch.Wrap(Native.mlnd_tensor_detach(LiveHandle));

    /// <summary>The tensor in the given memory layout (itself, as a new handle, when already laid out so).</summary>
    public Tensor Contiguous(MemoryFormat format = MemoryFormat.Contiguous) => LibTorch.Wrap(Native.mlnd_tensor_contiguous(LiveHandle, (sbyte)format));

    /// <summary>
    /// Replaces this tensor's data with <paramref name="source"/>'s (PyTorch's <c>param.data = source</c>), keeping
    /// this object, its handle and its autograd flags. Used to move module parameters between devices and types.
    /// </summary>
    public void SetData(Tensor source) => LibTorch.Check(Native.mlnd_tensor_set_data(LiveHandle, Arg(source)));

    /// <summary>Whether autograd records operations on this tensor.</summary>
    public bool RequiresGrad
    {
        get => Native.mlnd_tensor_requires_grad(LiveHandle) != 0;
        set => LibTorch.Check(Native.mlnd_tensor_set_requires_grad(LiveHandle, Flag(value)));
    }

    /// <summary>Whether this tensor is a leaf of the autograd graph (created by the user, not by an operation).</summary>
    public bool IsLeaf => Native.mlnd_tensor_is_leaf(LiveHandle) != 0;

    /// <summary>Back-propagates from this tensor; <paramref name="gradient"/> is required unless it has one element.</summary>
    public void Backward(Tensor? gradient = null, bool retainGraph = false) =>
        LibTorch.Check(Native.mlnd_backward(LiveHandle, ArgOrNull(gradient), Flag(retainGraph)));

    /// <summary>The accumulated gradient (a new handle on it), or null when there is none.</summary>
    public Tensor? Grad
    {
        get
        {
            LibTorch.Check(Native.mlnd_tensor_grad(LiveHandle, out var grad));
            if (grad == IntPtr.Zero)
            {
                return null;
            }

            var handle = new TensorHandle();
            System.Runtime.InteropServices.Marshal.InitHandle(handle, grad);
            return new Tensor(handle);
        }
    }

    /// <summary>Drops the gradient (<paramref name="setToNone"/>, PyTorch's default) or zeroes it in place.</summary>
    public void ZeroGrad(bool setToNone = true) => LibTorch.Check(Native.mlnd_tensor_zero_grad(LiveHandle, Flag(setToNone)));

    /// <summary>In place: turns gradient recording on or off for this leaf. Returns this tensor.</summary>
    public Tensor RequiresGradInPlace(bool requiresGrad = true)
    {
        RequiresGrad = requiresGrad;
        return this;
    }

    private Tensor ShapeOp(delegate*<TensorHandle, long*, int, TensorHandle> op, long[] dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        fixed (long* p = dims)
        {
            return LibTorch.Wrap(op(LiveHandle, p, dims.Length));
        }
    }
}
