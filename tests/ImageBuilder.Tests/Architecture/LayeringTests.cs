// Dependencies point down: library folders never reach up into Cli, and no two top-level folders import each other.
using ArchUnitNET.Domain;
using ArchUnitNET.Fluent;
using ArchUnitNET.Loader;
using ArchUnitNET.xUnitV3;
using static ArchUnitNET.Fluent.ArchRuleDefinition;

namespace Appliance.ImageBuilder.Tests.Architecture;

/// <summary>
/// Reads the compiled <c>appliance</c> assembly (its IL, so only real uses count, not stray using directives) and
/// checks the layering of DESIGN.md: Cli → Build → Boot, Disk, Store, Oci, Signing, Profiles → IO and Appliance.Common.
/// A use of a constant alone (<c>ExitCodes.Ok</c>) is copied into the IL by the compiler and leaves no reference to see.
/// </summary>
public sealed class LayeringTests
{
    private const string Root = "Appliance.ImageBuilder";

    private static readonly ArchUnitNET.Domain.Architecture Assembly =
        new ArchLoader().LoadAssemblies(typeof(Appliance.ImageBuilder.Cli.CliRoot).Assembly).Build();

    private static IObjectProvider<IType> Folder(string folder) =>
        Types().That().ResideInNamespaceMatching($@"^{Root.Replace(".", @"\.")}\.{folder}(\..*)?$").As($"{folder}/");

    /// <summary>The library folders: everything below the command layer.</summary>
    public static TheoryData<string> Libraries => ["Disk", "Oci", "Store", "Signing", "Boot", "Boards", "Profiles", "Build", "IO"];

    [Theory]
    [MemberData(nameof(Libraries))]
    [Trait("Category", "Unit")]
    public void LibraryFolder_DoesNotReferenceCli(string folder)
    {
        Assert.NotEmpty(Folder(folder).GetObjects(Assembly)); // a renamed folder must not make the rule vacuous
        Types().That().Are(Folder(folder)).Should().NotDependOnAny(Folder("Cli"))
            .Because("a library reports bad input by exception; the command layer decides exit codes")
            .Check(Assembly);
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void TopLevelFolders_HaveNoDependencyCycles()
    {
        // ArchUnitNET's slices group by whole sub-namespace (Cli.Sign apart from Cli), so the folder graph is built here
        // from the dependencies it read.
        var edges = new SortedDictionary<string, SortedDictionary<string, string>>(StringComparer.Ordinal);
        foreach (var type in Assembly.Types)
        {
            if (TopFolder(type) is not { } from) continue;
            foreach (var d in type.Dependencies)
                if (TopFolder(d.Target) is { } to && to != from)
                {
                    if (!edges.TryGetValue(from, out var targets)) edges[from] = targets = new(StringComparer.Ordinal);
                    targets.TryAdd(to, $"{type.FullName} -> {d.Target.FullName}");
                }
        }
        Assert.Contains("Build", edges["Cli"].Keys); // the graph was read: the command layer uses the pipeline

        var cycles = new List<string>();
        foreach (var (from, targets) in edges)
            foreach (var (to, example) in targets)
                if (string.CompareOrdinal(from, to) < 0 && PathBetween(edges, to, from) is { } back)
                    cycles.Add($"{from} -> {string.Join(" -> ", back)} (for example {example}; closing step {edges[back[^2]][back[^1]]})");
        Assert.True(cycles.Count == 0, "folders that import each other:\n" + string.Join("\n", cycles));
    }

    /// <summary>The top-level folder under Appliance.ImageBuilder a type lives in, or null for other assemblies' types.</summary>
    private static string? TopFolder(IType type)
    {
        var ns = type.Namespace?.FullName ?? "";
        return ns.StartsWith(Root + ".", StringComparison.Ordinal) ? ns[(Root.Length + 1)..].Split('.')[0] : null;
    }

    /// <summary>A path of folders from <paramref name="start"/> to <paramref name="goal"/> (both included), or null.</summary>
    private static List<string>? PathBetween(SortedDictionary<string, SortedDictionary<string, string>> edges, string start, string goal)
    {
        var previous = new Dictionary<string, string?> { [start] = null };
        var queue = new Queue<string>([start]);
        while (queue.Count > 0)
        {
            var at = queue.Dequeue();
            if (at == goal)
            {
                var path = new List<string>();
                for (string? p = at; p != null; p = previous[p]) path.Insert(0, p);
                return path;
            }
            if (edges.TryGetValue(at, out var next))
                foreach (var n in next.Keys)
                    if (previous.TryAdd(n, at)) queue.Enqueue(n);
        }
        return null;
    }
}
