// extends: merge rules. Maps deep-merge, lists and scalars replace, the child wins, and one of a one-of group replaces the others.
using Appliance.ImageBuilder.Profiles.Binding;
using Appliance.ImageBuilder.Profiles.Yaml;

namespace Appliance.ImageBuilder.Profiles;

/// <summary>Merges a parent profile tree with a child that extends it.</summary>
public static class ProfileMerger
{
    /// <summary>
    /// The child laid over the parent. Mappings merge key by key (parent order first, new child keys
    /// after); anything else in the child replaces the parent's value, so lists are replaced whole and
    /// an explicit null in the child removes the parent's value. Alternatives (<see cref="OneOfGroups.Site"/>,
    /// such as <c>cluster.token</c> / <c>cluster.tokenFile</c>): a child that sets one of them drops the parent's
    /// others, so it replaces the parent's choice instead of adding a second one; a child that sets the group's
    /// supplier (<c>cluster.pki</c>) and none of them drops them all. Nodes keep their own file marks.
    /// </summary>
    public static YNode Merge(YNode parent, YNode child) => Merge(parent, child, "");

    private static YNode Merge(YNode parent, YNode child, string path)
    {
        if (parent is not YMapping pm || child is not YMapping cm)
            return child;
        var entries = new List<KeyValuePair<YScalar, YNode>>(pm.Entries);
        foreach (var group in OneOfGroups.Site.At(path))
        {
            var set = group.Fields.Where(f => cm.Find(f) is not null).ToList();
            if (set.Count > 0)
                entries.RemoveAll(e => group.Fields.Contains(e.Key.Value) && !set.Contains(e.Key.Value));
            // A child that sets the field supplying the value (cluster.pki holds the token) without choosing one itself
            // drops the parent's choice too: the parent's token belongs to another cluster.
            else if (group.OptionalWith is { } supplier && cm.Find(supplier) is not null)
                entries.RemoveAll(e => group.Fields.Contains(e.Key.Value));
        }
        foreach (var (key, value) in cm.Entries)
        {
            int i = entries.FindIndex(e => e.Key.Value == key.Value);
            if (i < 0)
                entries.Add(new(key, value));
            else
                entries[i] = new(key, Merge(entries[i].Value, value, Paths.Child(path, key.Value)));
        }
        return new YMapping(cm.Mark, entries);
    }
}
