using System.Text.RegularExpressions;
using Mono.Cecil;
using Mono.Cecil.Cil;
using MLNet.Diffusion.Models;

namespace MLNet.Diffusion.Tests;

/// <summary>
/// Holds the library to the layers of docs/architecture.md, read from the compiled assembly: a namespace uses only its
/// own layer and the layers below it, the siblings that must stay apart never meet, and only the namespaces allowed to
/// reference ML.NET do. The compiled assembly, not the source's <c>using</c> lines, because C# resolves a parent
/// namespace's types without one.
/// </summary>
[TestClass]
public sealed partial class LayerTests
{
    [TestMethod]
    public void Library_ReferencesOnlyItsOwnAndLowerLayers()
    {
        var layers = Layers.Read(Path.Combine(RepositoryTests.Root, "docs", "architecture.md"));
        var violations = Violations(layers);
        Assert.IsEmpty(violations, $"{violations.Count} references break docs/architecture.md's layers:\n{string.Join("\n", violations)}");
    }

    [TestMethod]
    public void Violations_FindAReferenceUpward()
    {
        // The check itself: with the front door declared the lowest layer, the library's own references upward (the
        // trainer's estimator reaching Training, say) must be found.
        var upsideDown = new Layers(
            [["(root)"], ["Engine", "IO", "Images", "Datasets", "ForwardProcess", "Models", "Metrics", "Sampling", "Training", "Onnx", "ModelFormat", "Pipeline", "Evaluation"]],
            [], ["(root)", "Pipeline", "Evaluation"]);
        Assert.IsTrue(Violations(upsideDown).Any(v => v.StartsWith("MLNet.Diffusion.DiffusionTrainer ", StringComparison.Ordinal)));
    }

    [TestMethod]
    public void Layers_NameEveryNamespaceOfTheLibrary()
    {
        var layers = Layers.Read(Path.Combine(RepositoryTests.Root, "docs", "architecture.md"));
        var unknown = LibraryTypes().Select(t => NamespaceOf(t)).Distinct().Where(n => layers.LayerOf(n) < 0).ToList();
        Assert.IsEmpty(unknown, $"namespaces that docs/architecture.md places in no layer: {string.Join(", ", unknown)}");
    }

    private static List<string> Violations(Layers layers)
    {
        var violations = new List<string>();
        foreach (var type in LibraryTypes())
        {
            var from = NamespaceOf(type);
            var fromLayer = layers.LayerOf(from);
            foreach (var reference in References(type))
            {
                if (reference.Scope is AssemblyNameReference assembly)
                {
                    if (IsMLNet(assembly.Name) && !layers.MayUseMLNet(from))
                    {
                        violations.Add($"{type.FullName} ({from}) uses ML.NET's {reference.FullName} ({assembly.Name})");
                    }

                    continue;
                }

                // The library's own types; compiler-generated ones outside its namespaces (<PrivateImplementationDetails>, the
                // regex generator's) belong to no layer.
                if (reference.Resolve() is not { } target || !TopLevel(target).Namespace.StartsWith("MLNet.Diffusion", StringComparison.Ordinal))
                {
                    continue;
                }

                var to = NamespaceOf(target);
                if (to != from && (layers.LayerOf(to) > fromLayer || layers.Apart(from, to)))
                {
                    violations.Add($"{type.FullName} ({from}) uses {TopLevel(target).FullName} ({to})");
                }
            }
        }

        return violations.Distinct().Order(StringComparer.Ordinal).ToList();
    }

    // ML.NET's assemblies; ONNX Runtime ships under Microsoft.ML.OnnxRuntime but is not ML.NET.
    private static bool IsMLNet(string assembly) =>
        (assembly == "Microsoft.ML" || assembly.StartsWith("Microsoft.ML.", StringComparison.Ordinal)) &&
        !assembly.StartsWith("Microsoft.ML.OnnxRuntime", StringComparison.Ordinal);

    private static IEnumerable<TypeDefinition> LibraryTypes()
    {
        var module = ModuleDefinition.ReadModule(typeof(DiffusionModel).Assembly.Location, new ReaderParameters { AssemblyResolver = Resolver() });
        // Compiler-generated top-level types (<PrivateImplementationDetails>, the regex generator's) belong to no namespace.
        return module.Types.Where(t => t.Namespace.StartsWith("MLNet.Diffusion", StringComparison.Ordinal));
    }

    private static DefaultAssemblyResolver Resolver()
    {
        var resolver = new DefaultAssemblyResolver();
        resolver.AddSearchDirectory(AppContext.BaseDirectory);
        resolver.AddSearchDirectory(Path.GetDirectoryName(typeof(object).Assembly.Location)!);
        return resolver;
    }

    private static string NamespaceOf(TypeDefinition type)
    {
        var ns = TopLevel(type).Namespace;
        return ns == "MLNet.Diffusion" ? "(root)"
            : ns.StartsWith("MLNet.Diffusion.", StringComparison.Ordinal) ? ns["MLNet.Diffusion.".Length..].Split('.')[0]
            : $"(outside: {ns})";
    }

    private static TypeDefinition TopLevel(TypeDefinition type) => type.DeclaringType is null ? type : TopLevel(type.DeclaringType);

    /// <summary>Every type a type's declaration and code name, nested and compiler-generated types included.</summary>
    private static List<TypeReference> References(TypeDefinition type)
    {
        var found = new List<TypeReference>();
        void Add(TypeReference? t)
        {
            switch (t)
            {
                case null or GenericParameter:
                    return;
                case GenericInstanceType g:
                    Add(g.ElementType);
                    foreach (var a in g.GenericArguments)
                    {
                        Add(a);
                    }

                    return;
                case TypeSpecification s:
                    Add(s.ElementType);
                    return;
                default:
                    found.Add(t);
                    return;
            }
        }

        void AddMethod(MethodReference m)
        {
            Add(m.DeclaringType);
            Add(m.ReturnType);
            foreach (var p in m.Parameters)
            {
                Add(p.ParameterType);
            }

            if (m is GenericInstanceMethod gm)
            {
                foreach (var a in gm.GenericArguments)
                {
                    Add(a);
                }
            }
        }

        void AddAttributes(ICustomAttributeProvider provider)
        {
            foreach (var a in provider.CustomAttributes)
            {
                AddMethod(a.Constructor);
            }
        }

        void Visit(TypeDefinition t)
        {
            AddAttributes(t);
            Add(t.BaseType);
            foreach (var i in t.Interfaces)
            {
                Add(i.InterfaceType);
            }

            foreach (var f in t.Fields)
            {
                Add(f.FieldType);
                AddAttributes(f);
            }

            foreach (var p in t.Properties)
            {
                Add(p.PropertyType);
            }

            foreach (var m in t.Methods)
            {
                AddMethod(m);
                AddAttributes(m);
                if (!m.HasBody)
                {
                    continue;
                }

                foreach (var v in m.Body.Variables)
                {
                    Add(v.VariableType);
                }

                foreach (var instruction in m.Body.Instructions)
                {
                    switch (instruction.Operand)
                    {
                        case TypeReference tr:
                            Add(tr);
                            break;
                        case MethodReference mr:
                            AddMethod(mr);
                            break;
                        case FieldReference fr:
                            Add(fr.DeclaringType);
                            Add(fr.FieldType);
                            break;
                    }
                }
            }

            foreach (var nested in t.NestedTypes)
            {
                Visit(nested);
            }
        }

        Visit(type);
        return found;
    }

    /// <summary>The layers block of docs/architecture.md: one line per layer, lowest first, then the rules.</summary>
    private sealed partial record Layers(IReadOnlyList<IReadOnlyList<string>> Order, IReadOnlyList<(string A, string B)> Separate, IReadOnlyList<string> MLNetUsers)
    {
        public static Layers Read(string page)
        {
            var block = LayersBlock().Match(File.ReadAllText(page));
            Assert.IsTrue(block.Success, "docs/architecture.md has no ```layers block");
            var order = new List<IReadOnlyList<string>>();
            var apart = new List<(string, string)>();
            var mlnet = new List<string>();
            foreach (var line in block.Groups[1].Value.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                switch (words[0])
                {
                    case "apart:":
                        apart.Add((words[1], words[2]));
                        break;
                    case "ml.net:":
                        mlnet.AddRange(words[1..]);
                        break;
                    default:
                        Assert.AreEqual((order.Count + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), words[0], $"layer numbers in docs/architecture.md: {line}");
                        order.Add(words[1..]);
                        break;
                }
            }

            return new Layers(order, apart, mlnet);
        }

        public int LayerOf(string ns)
        {
            for (var i = 0; i < Order.Count; i++)
            {
                if (Order[i].Contains(ns))
                {
                    return i;
                }
            }

            return -1;
        }

        public bool Apart(string a, string b) => Separate.Any(s => (s.A == a && s.B == b) || (s.A == b && s.B == a));

        public bool MayUseMLNet(string ns) => MLNetUsers.Contains(ns);

        [GeneratedRegex(@"```layers\n(.*?)```", RegexOptions.Singleline)]
        private static partial Regex LayersBlock();
    }
}
