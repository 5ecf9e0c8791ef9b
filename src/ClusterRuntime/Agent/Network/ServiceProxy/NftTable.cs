// One nftables table held as its parts (chains, sets, maps), written whole as nft(8) input.
using System.Text;

namespace Appliance.ClusterRuntime.Agent.Network.ServiceProxy;

/// <summary>A chain: its base-chain declaration (<c>type nat hook ... ; policy accept;</c>) or null, and its rules in order.</summary>
internal sealed record NftChain(string Name, string? Hook, List<string> Rules);

/// <summary>
/// A set or map: its declaration (<c>type ...;</c> and flags) and its elements. A <see cref="Dynamic"/> set is filled
/// by the packet path (<c>update @set</c>: session affinity) and its elements survive applies.
/// </summary>
internal sealed record NftSet(string Name, bool IsMap, string Declaration, SortedSet<string> Elements, bool Dynamic = false);

/// <summary>
/// The whole table in family <c>ip</c>: <see cref="Text"/> is its nft(8) source, sorted (sets and maps, then chains,
/// each by name; elements by text), so equal inputs give equal text.
/// </summary>
public sealed class NftTable
{
    internal SortedDictionary<string, NftChain> Chains { get; } = new(StringComparer.Ordinal);
    internal SortedDictionary<string, NftSet> Sets { get; } = new(StringComparer.Ordinal);

    /// <summary>The table's name (family <c>ip</c>).</summary>
    public string Name { get; }

    internal NftTable(string name) => Name = name;

    /// <summary>A chain, created empty on first use.</summary>
    internal NftChain Chain(string name, string? hook = null)
    {
        if (!Chains.TryGetValue(name, out var chain)) Chains[name] = chain = new NftChain(name, hook, []);
        return chain;
    }

    /// <summary>A set or map, created empty on first use.</summary>
    internal NftSet Set(string name, bool isMap, string declaration, bool dynamic = false)
    {
        if (!Sets.TryGetValue(name, out var set)) Sets[name] = set = new NftSet(name, isMap, declaration, new SortedSet<string>(StringComparer.Ordinal), dynamic);
        return set;
    }

    /// <summary>The table as nft(8) input: one <c>table ip NAME { ... }</c> block.</summary>
    public string Text => _text ??= Write();
    string? _text;

    string Write()
    {
        // nft 1.0.6 needs a newline or ';' before every closing brace, so everything is written one statement a line.
        var w = new StringBuilder();
        w.Append("table ip ").Append(Name).Append(" {\n");
        foreach (var s in Sets.Values)
        {
            w.Append('\t').Append(s.IsMap ? "map " : "set ").Append(s.Name).Append(" {\n\t\t").Append(s.Declaration).Append('\n');
            if (s.Elements.Count > 0) w.Append("\t\telements = {\n\t\t\t").Append(string.Join(",\n\t\t\t", s.Elements)).Append("\n\t\t}\n");
            w.Append("\t}\n");
        }
        foreach (var c in Chains.Values)
        {
            w.Append("\tchain ").Append(c.Name).Append(" {\n");
            if (c.Hook is not null) w.Append("\t\t").Append(c.Hook).Append('\n');
            foreach (var r in c.Rules) w.Append("\t\t").Append(r).Append('\n');
            w.Append("\t}\n");
        }
        return w.Append("}\n").ToString();
    }

    /// <summary>
    /// One nft transaction that turns the table from <paramref name="previous"/> (what the last apply left, or null
    /// when unknown) into this one. Unknown: the table is deleted and written whole. Known: only the difference (new
    /// chains and sets, changed chains flushed and written again, map and set elements deleted and added, objects
    /// that went away deleted), so one endpoint's change costs nft a few lines, not the whole table; dynamic sets
    /// (session affinity) keep their elements. A changed set declaration or base chain hook, rare, rewrites the whole.
    /// </summary>
    public string UpdateScript(NftTable? previous)
    {
        if (previous is null || previous.Name != Name
            || Sets.Values.Any(s => previous.Sets.TryGetValue(s.Name, out var old) && (old.Declaration != s.Declaration || old.IsMap != s.IsMap || old.Dynamic != s.Dynamic))
            || Chains.Values.Any(c => previous.Chains.TryGetValue(c.Name, out var old) && old.Hook != c.Hook))
            return $"add table ip {Name}\ndelete table ip {Name}\n{Text}";
        var w = new StringBuilder();
        var table = $"ip {Name}";
        foreach (var s in Sets.Values.Where(s => !previous.Sets.ContainsKey(s.Name)))
            w.Append("add ").Append(Kind(s)).Append(' ').Append(table).Append(' ').Append(s.Name).Append(" { ").Append(s.Declaration).Append(" }\n");
        foreach (var c in Chains.Values.Where(c => !previous.Chains.ContainsKey(c.Name)))
            w.Append("add chain ").Append(table).Append(' ').Append(c.Name).Append(c.Hook is null ? "" : $" {{ {c.Hook} }}").Append('\n');
        foreach (var c in Chains.Values)
        {
            var old = previous.Chains.GetValueOrDefault(c.Name);
            if (old is not null && old.Rules.SequenceEqual(c.Rules)) continue;
            if (old is not null) w.Append("flush chain ").Append(table).Append(' ').Append(c.Name).Append('\n');
            foreach (var r in c.Rules) w.Append("add rule ").Append(table).Append(' ').Append(c.Name).Append(' ').Append(r).Append('\n');
        }
        foreach (var s in Sets.Values.Where(s => !s.Dynamic))
        {
            var before = previous.Sets.GetValueOrDefault(s.Name)?.Elements ?? [];
            // A map element is deleted by its key; a changed verdict is a deletion then an addition.
            var gone = before.Where(e => !s.Elements.Contains(e)).Select(e => e.Split(" : ")[0]).ToList();
            var added = s.Elements.Where(e => !before.Contains(e)).ToList();
            if (gone.Count > 0) w.Append("delete element ").Append(table).Append(' ').Append(s.Name).Append(" { ").Append(string.Join(", ", gone)).Append(" }\n");
            if (added.Count > 0) w.Append("add element ").Append(table).Append(' ').Append(s.Name).Append(" { ").Append(string.Join(", ", added)).Append(" }\n");
        }
        // Stale chains may still jump to each other, so all are emptied before any is deleted; nothing else refers to
        // them now (the rules that named them were flushed, the map elements deleted).
        var stale = previous.Chains.Keys.Where(n => !Chains.ContainsKey(n)).ToList();
        foreach (var old in stale) w.Append("flush chain ").Append(table).Append(' ').Append(old).Append('\n');
        foreach (var old in stale) w.Append("delete chain ").Append(table).Append(' ').Append(old).Append('\n');
        foreach (var old in previous.Sets.Values.Where(o => !Sets.ContainsKey(o.Name)))
            w.Append("delete ").Append(Kind(old)).Append(' ').Append(table).Append(' ').Append(old.Name).Append('\n');
        return w.ToString();
    }

    static string Kind(NftSet s) => s.IsMap ? "map" : "set";
}
