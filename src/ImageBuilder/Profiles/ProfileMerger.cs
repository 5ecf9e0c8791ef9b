// extends: merge rules. Maps deep-merge, lists and scalars replace, the child wins.
using Appliance.ImageBuilder.Profiles.Yaml;

namespace Appliance.ImageBuilder.Profiles;

/// <summary>Merges a parent profile tree with a child that extends it.</summary>
public static class ProfileMerger
{
    /// <summary>
    /// The child laid over the parent. Mappings merge key by key (parent order first, new child keys
    /// after); anything else in the child replaces the parent's value, so lists are replaced whole and
    /// an explicit null in the child removes the parent's value. Nodes keep their own file marks.
    /// </summary>
    public static YNode Merge(YNode parent, YNode child)
    {
        if (parent is not YMapping pm || child is not YMapping cm)
            return child;
        var entries = new List<KeyValuePair<YScalar, YNode>>(pm.Entries);
        foreach (var (key, value) in cm.Entries)
        {
            int i = entries.FindIndex(e => e.Key.Value == key.Value);
            if (i < 0)
                entries.Add(new(key, value));
            else
                entries[i] = new(key, Merge(entries[i].Value, value));
        }
        return new YMapping(cm.Mark, entries);
    }
}
