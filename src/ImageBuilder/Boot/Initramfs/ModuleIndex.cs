// The kernel's modules.dep and modules.builtin: which modules exist, and what each one needs loaded first.
namespace Appliance.ImageBuilder.Boot.Initramfs;

/// <summary>
/// A kernel's module index, parsed from <c>modules.dep</c> ("path: dep-path dep-path ...") and
/// <c>modules.builtin</c> (one path per line). Module names are compared the way modprobe does:
/// the file's base name without <c>.ko</c> (and any compression suffix), with '-' and '_' equal.
/// </summary>
public sealed class ModuleIndex
{
    private readonly Dictionary<string, (string Path, string[] Deps)> _modules = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _byPath = new(StringComparer.Ordinal);
    private readonly HashSet<string> _builtin = new(StringComparer.Ordinal);

    /// <summary>The kernel version the index belongs to (for messages).</summary>
    public string KernelVersion { get; }

    private ModuleIndex(string kernelVersion) => KernelVersion = kernelVersion;

    /// <summary>Parses the two index files; <paramref name="where"/> names them in errors.</summary>
    public static ModuleIndex Parse(string kernelVersion, string modulesDep, string? modulesBuiltin, string where)
    {
        var index = new ModuleIndex(kernelVersion);
        var lineNo = 0;
        foreach (var raw in modulesDep.Split('\n'))
        {
            lineNo++;
            var line = raw.TrimEnd('\r');
            if (line.Length == 0) continue;
            var colon = line.IndexOf(':');
            if (colon <= 0)
                throw new InvalidDataException($"{where}/modules.dep:{lineNo}: expected 'path: dependencies', found '{line}'");
            var path = line[..colon];
            var deps = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            index._modules[NameOf(path)] = (path, deps);
            index._byPath[path] = NameOf(path);
        }
        foreach (var raw in (modulesBuiltin ?? "").Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length > 0) index._builtin.Add(NameOf(line));
        }
        return index;
    }

    /// <summary>The module name of a path such as <c>kernel/fs/nls/nls_iso8859-1.ko.xz</c>: <c>nls_iso8859_1</c>.</summary>
    public static string NameOf(string path)
    {
        var name = path[(path.LastIndexOf('/') + 1)..];
        var ko = name.IndexOf(".ko", StringComparison.Ordinal);
        if (ko > 0) name = name[..ko];
        return name.Replace('-', '_');
    }

    /// <summary>True when the kernel has <paramref name="name"/> built in (nothing to load).</summary>
    public bool IsBuiltin(string name) => _builtin.Contains(NameOf(name));

    /// <summary>True when <paramref name="name"/> is a loadable module of this kernel.</summary>
    public bool HasModule(string name) => _modules.ContainsKey(NameOf(name));

    /// <summary>
    /// The module files to load, dependencies first, for <paramref name="required"/> (each must be a
    /// module or built in) and <paramref name="optional"/> (skipped when the kernel has neither).
    /// Paths are relative to <c>lib/modules/VERSION</c>.
    /// </summary>
    public IReadOnlyList<string> Resolve(IEnumerable<string> required, IEnumerable<string> optional)
    {
        var order = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in required)
        {
            if (IsBuiltin(name)) continue;
            if (!HasModule(name))
                throw new InvalidDataException($"kernel {KernelVersion} has no module '{name}' (neither in modules.dep nor in modules.builtin)");
            Visit(NameOf(name), order, seen, []);
        }
        foreach (var name in optional)
            if (!IsBuiltin(name) && HasModule(name))
                Visit(NameOf(name), order, seen, []);
        return order;
    }

    private void Visit(string name, List<string> order, HashSet<string> seen, List<string> stack)
    {
        if (seen.Contains(name)) return;
        if (stack.Contains(name))
            throw new InvalidDataException($"kernel {KernelVersion}: modules.dep has a dependency cycle: {string.Join(" -> ", stack)} -> {name}");
        var (path, deps) = _modules[name];
        stack.Add(name);
        foreach (var dep in deps)
        {
            if (!_byPath.TryGetValue(dep, out var depName))
                throw new InvalidDataException($"kernel {KernelVersion}: modules.dep: {path} needs {dep}, which has no line of its own");
            Visit(depName, order, seen, stack);
        }
        stack.RemoveAt(stack.Count - 1);
        seen.Add(name);
        order.Add(path);
    }
}
