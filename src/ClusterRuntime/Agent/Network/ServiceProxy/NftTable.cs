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
    /// when unknown) into this one. Unknown: the table is deleted and written anew. Known: rules and the elements of
    /// static sets and maps are flushed and written again, objects that went away are deleted, and dynamic sets
    /// (session affinity) keep their elements unless their declaration changed.
    /// </summary>
    public string UpdateScript(NftTable? previous)
    {
        var w = new StringBuilder();
        w.Append("add table ip ").Append(Name).Append('\n');
        if (previous is null) w.Append("delete table ip ").Append(Name).Append('\n');
        else
        {
            w.Append("flush table ip ").Append(Name).Append('\n');
            foreach (var old in previous.Sets.Values)
            {
                var kind = old.IsMap ? "map" : "set";
                if (!Sets.TryGetValue(old.Name, out var now) || now.Declaration != old.Declaration || now.IsMap != old.IsMap || now.Dynamic != old.Dynamic)
                    continue; // deleted below, or deleted before being declared again
                if (!old.Dynamic) w.Append("flush ").Append(kind).Append(" ip ").Append(Name).Append(' ').Append(old.Name).Append('\n');
            }
            foreach (var old in previous.Sets.Values.Where(o => Sets.TryGetValue(o.Name, out var now) && (now.Declaration != o.Declaration || now.IsMap != o.IsMap || now.Dynamic != o.Dynamic)))
                w.Append("delete ").Append(old.IsMap ? "map" : "set").Append(" ip ").Append(Name).Append(' ').Append(old.Name).Append('\n');
        }
        w.Append(Text);
        if (previous is not null)
        {
            // Nothing refers to these any more: their rules were flushed and the maps that named them rewritten.
            foreach (var old in previous.Chains.Keys.Where(n => !Chains.ContainsKey(n)))
                w.Append("delete chain ip ").Append(Name).Append(' ').Append(old).Append('\n');
            foreach (var old in previous.Sets.Values.Where(o => !Sets.ContainsKey(o.Name)))
                w.Append("delete ").Append(old.IsMap ? "map" : "set").Append(" ip ").Append(Name).Append(' ').Append(old.Name).Append('\n');
        }
        return w.ToString();
    }
}
