using Google.Protobuf;
using Onnx;

namespace MLNet.Diffusion.Onnx;

/// <summary>
/// Builds an ONNX graph (OnnxSharp's generated protobuf types) one node at a time: each call adds a node and returns
/// the name of its output. Initializers go to the nearest graph that keeps its own (the root, or a subgraph made with
/// <c>ownInitializers</c>); a loop body without its own reads them from the enclosing scope (ONNX's outer-scope rule).
/// </summary>
internal sealed class OnnxGraph
{
    /// <summary>The opset the generator graphs are written for (18: BitwiseXor, ReduceMean with axes as an input).</summary>
    public const int Opset = 18;

    private readonly OnnxGraph _store;
    private readonly Counter _counter;
    private readonly Dictionary<string, string> _constants;

    public OnnxGraph(string name)
    {
        Proto = new GraphProto { Name = name };
        _store = this;
        _counter = new Counter();
        _constants = [];
    }

    private OnnxGraph(string name, OnnxGraph parent, bool ownInitializers)
    {
        Proto = new GraphProto { Name = name };
        _store = ownInitializers ? this : parent._store;
        _counter = parent._counter;
        _constants = ownInitializers ? [] : parent._constants;
    }

    /// <summary>The graph built so far.</summary>
    public GraphProto Proto { get; }

    /// <summary>The graph as a model (IR version 8, <see cref="Opset"/>), with <paramref name="metadata"/> as its
    /// <c>metadata_props</c>.</summary>
    public ModelProto ToModel(IEnumerable<KeyValuePair<string, string>>? metadata = null)
    {
        var model = new ModelProto { IrVersion = 8, Graph = Proto, ProducerName = "MLNet.Diffusion", ProducerVersion = typeof(OnnxGraph).Assembly.GetName().Version?.ToString() ?? "" };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach (var (key, value) in metadata ?? [])
        {
            model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        }

        return model;
    }

    /// <summary>
    /// A graph for a control-flow body (Loop, If). By default its initializers and constants live in this graph's store
    /// and are read from the enclosing scope; with <paramref name="ownInitializers"/> the body keeps its own. ONNX
    /// Runtime 1.31 optimizes a body's Conv nodes into its fast blocked (NCHWc) kernels only when their weights are the
    /// body's own initializers (bench/README.md, "Sampling through ONNX Runtime").
    /// </summary>
    public OnnxGraph Subgraph(string name, bool ownInitializers = false) => new(name, this, ownInitializers);

    /// <summary>Adds a node with one output and returns the output's name.</summary>
    public string Node(string opType, IEnumerable<string> inputs, params (string Name, object Value)[] attributes) =>
        Node(opType, inputs, 1, attributes)[0];

    /// <summary>Adds a node with <paramref name="outputs"/> outputs and returns their names.</summary>
    public string[] Node(string opType, IEnumerable<string> inputs, int outputs, params (string Name, object Value)[] attributes)
    {
        var id = _counter.Next();
        var node = new NodeProto { OpType = opType, Name = $"{opType}_{id}" };
        node.Input.AddRange(inputs);
        var names = Enumerable.Range(0, outputs).Select(i => outputs == 1 ? $"{opType}_{id}" : $"{opType}_{id}_{i}").ToArray();
        node.Output.AddRange(names);
        foreach (var (name, value) in attributes)
        {
            node.Attribute.Add(Attribute(name, value));
        }

        Proto.Node.Add(node);
        return names;
    }

    /// <summary>Adds a node whose outputs have the given names (for a subgraph's declared outputs).</summary>
    public void NodeInto(string opType, IEnumerable<string> inputs, IEnumerable<string> outputs, params (string Name, object Value)[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = $"{opType}_{_counter.Next()}" };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        foreach (var (name, value) in attributes)
        {
            node.Attribute.Add(Attribute(name, value));
        }

        Proto.Node.Add(node);
    }

    /// <summary>Adds a float32 initializer to the root graph.</summary>
    public string Initializer(string name, ReadOnlySpan<float> values, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.AddRange(dims);
        tensor.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values));
        _store.Proto.Initializer.Add(tensor);
        return name;
    }

    /// <summary>Adds an initializer of any element type from its little-endian bytes.</summary>
    public string Initializer(string name, TensorProto.Types.DataType type, ReadOnlySpan<byte> raw, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(raw) };
        tensor.Dims.AddRange(dims);
        _store.Proto.Initializer.Add(tensor);
        return name;
    }

    /// <summary>A float32 constant (scalar when <paramref name="dims"/> is empty), shared by equal values.</summary>
    public string Constant(float[] values, params long[] dims) =>
        Shared($"f:{string.Join(',', dims)}:{string.Join(',', values.Select(v => BitConverter.SingleToInt32Bits(v)))}",
            name => Initializer(name, values, dims));

    /// <summary>A float32 scalar constant.</summary>
    public string Scalar(float value) => Constant([value]);

    /// <summary>An int64 constant (1-D; for shapes, axes, indices).</summary>
    public string Int64s(params long[] values) =>
        Shared($"i64:{string.Join(',', values)}", name => Initializer(name, TensorProto.Types.DataType.Int64,
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()), values.Length));

    /// <summary>An int64 scalar constant.</summary>
    public string Int64Scalar(long value) =>
        Shared($"i64s:{value}", name => Initializer(name, TensorProto.Types.DataType.Int64,
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(new[] { value }.AsSpan())));

    /// <summary>A uint32 scalar constant.</summary>
    public string UInt32Scalar(uint value) =>
        Shared($"u32s:{value}", name => Initializer(name, TensorProto.Types.DataType.Uint32,
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(new[] { value }.AsSpan())));

    /// <summary>Declares a graph input; a null dimension is symbolic (named <paramref name="symbolic"/>).</summary>
    public void Input(string name, TensorProto.Types.DataType type, IReadOnlyList<long?> dims, string symbolic = "batch") =>
        Proto.Input.Add(Value(name, type, dims, symbolic));

    /// <summary>Declares a graph output; a null dimension is symbolic.</summary>
    public void Output(string name, TensorProto.Types.DataType type, IReadOnlyList<long?>? dims, string symbolic = "batch") =>
        Proto.Output.Add(Value(name, type, dims, symbolic));

    /// <summary>A typed value description (for inputs, outputs and loop-body signatures); null dims: rank unknown.</summary>
    public static ValueInfoProto Value(string name, TensorProto.Types.DataType type, IReadOnlyList<long?>? dims, string symbolic = "batch")
    {
        var tensor = new TypeProto.Types.Tensor { ElemType = (int)type };
        if (dims is not null)
        {
            tensor.Shape = new TensorShapeProto();
            foreach (var d in dims)
            {
                tensor.Shape.Dim.Add(d is { } value
                    ? new TensorShapeProto.Types.Dimension { DimValue = value }
                    : new TensorShapeProto.Types.Dimension { DimParam = symbolic });
            }
        }

        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensor } };
    }

    private string Shared(string key, Func<string, string> create)
    {
        if (!_constants.TryGetValue(key, out var name))
        {
            name = create($"const_{_counter.Next()}");
            _constants[key] = name;
        }

        return name;
    }

    private static AttributeProto Attribute(string name, object value)
    {
        var attribute = new AttributeProto { Name = name };
        switch (value)
        {
            case int or long:
                attribute.Type = AttributeProto.Types.AttributeType.Int;
                attribute.I = Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture);
                break;
            case float f:
                attribute.Type = AttributeProto.Types.AttributeType.Float;
                attribute.F = f;
                break;
            case string s:
                attribute.Type = AttributeProto.Types.AttributeType.String;
                attribute.S = ByteString.CopyFromUtf8(s);
                break;
            case long[] ints:
                attribute.Type = AttributeProto.Types.AttributeType.Ints;
                attribute.Ints.AddRange(ints);
                break;
            case GraphProto graph:
                attribute.Type = AttributeProto.Types.AttributeType.Graph;
                attribute.G = graph;
                break;
            default:
                throw new ArgumentException($"Attribute '{name}' has a type ONNX graphs here do not use: {value?.GetType().Name ?? "null"}.", nameof(value));
        }

        return attribute;
    }

    private sealed class Counter
    {
        private int _value;

        public int Next() => _value++;
    }
}
