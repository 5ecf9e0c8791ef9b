// A YAML node tree that remembers, for every node, the file, line and column it came from.
namespace Appliance.ImageBuilder.Profiles.Yaml;

/// <summary>Where a node starts: the profile file (as displayed to the user), 1-based line and column.</summary>
public readonly record struct SourceMark(string File, int Line, int Column)
{
    /// <inheritdoc />
    public override string ToString() => $"{File}:{Line}:{Column}";
}

/// <summary>A node of a parsed profile. Nodes keep their origin so merged trees still point at the right file.</summary>
public abstract class YNode
{
    private protected YNode(SourceMark mark) => Mark = mark;

    /// <summary>Where the node starts.</summary>
    public SourceMark Mark { get; }

    /// <summary>"a mapping", "a list" or "a scalar": used in wrong-type messages.</summary>
    public abstract string KindName { get; }
}

/// <summary>A scalar: plain or quoted text.</summary>
public sealed class YScalar : YNode
{
    /// <summary>Creates a scalar.</summary>
    public YScalar(SourceMark mark, string value, bool plain) : base(mark)
    {
        Value = value;
        IsPlain = plain;
    }

    /// <summary>The text of the scalar, before any <c>${env:...}</c> resolution.</summary>
    public string Value { get; }

    /// <summary>True when the scalar was written unquoted (so <c>~</c>, <c>null</c> and empty mean null).</summary>
    public bool IsPlain { get; }

    /// <summary>True for YAML's null spellings written plain.</summary>
    public bool IsNull => IsPlain && Value is "" or "~" or "null" or "Null" or "NULL";

    /// <inheritdoc />
    public override string KindName => IsNull ? "null" : $"'{Value}'";
}

/// <summary>A mapping whose keys are scalars, in document order.</summary>
public sealed class YMapping : YNode
{
    /// <summary>Creates a mapping.</summary>
    public YMapping(SourceMark mark, IReadOnlyList<KeyValuePair<YScalar, YNode>> entries) : base(mark) => Entries = entries;

    /// <summary>The entries, in document order, with duplicates already removed (the first one wins).</summary>
    public IReadOnlyList<KeyValuePair<YScalar, YNode>> Entries { get; }

    /// <inheritdoc />
    public override string KindName => "a mapping";

    /// <summary>The entry with the given key, or null.</summary>
    public KeyValuePair<YScalar, YNode>? Find(string key)
    {
        foreach (var e in Entries)
            if (e.Key.Value == key)
                return e;
        return null;
    }
}

/// <summary>A sequence (YAML list).</summary>
public sealed class YSequence : YNode
{
    /// <summary>Creates a sequence.</summary>
    public YSequence(SourceMark mark, IReadOnlyList<YNode> items) : base(mark) => Items = items;

    /// <summary>The items in order.</summary>
    public IReadOnlyList<YNode> Items { get; }

    /// <inheritdoc />
    public override string KindName => "a list";
}
